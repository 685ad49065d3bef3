"""Segmentation learning benchmark: do the segmentation strategies save doctors' outlines?

Simulated doctors answer from an npz's masks (the standard layout of
../shared/data/segmentation/busbra/README.md: {train,val,test}_{images,masks,...}, class_names).
Every round runs the product's own code: `ml_worker.segmentation.training.train_segmenter` (MONAI
U-Net, Dice + cross-entropy, paired augmentation, EMA, early stopping on validation Dice),
`ml_worker.segmentation.pipeline.evaluate_model` (temperature on validation pixels, Dice on test)
and `score_pool` with the strategies registered in `ml_worker.strategies`.

Protocol (bench/learning_protocol.py, shared with the detection bench; as bench/active_learning.py):
- pool = the train split (masks hidden until "asked"), val = early stopping and temperature,
  test = reporting only. The full-data reference trains on the whole pool; target = 95 % of its
  mean test Dice (mean foreground Dice per image).
- Random runs along a budget schedule that stops where its mean test Dice reaches the target.
  Every other arm runs that schedule with the same initial random labels per seed, and round
  generators seeded by (seed, labelled count) (paired); a round whose labels are random's at that
  budget and seed reuses random's round. Rounds are scheduled one per worker as soon as their
  inputs are known, not in waves (decision 0359).
- Reported per arm: labels_to_target, saving_vs_random, aubc (normalised area under Dice over
  log(labels)), worst_gap_to_random, final_dice, and the simulated correction effort per budget:
  the median over test images of (pixels to add + pixels to erase) / truth lesion pixels, starting
  from the round model's suggestion.

Usage: python bench/segmentation_learning.py [--dataset PATH.npz] [--seeds 3] [--quick] [--out DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench/active_learning.py

import argparse
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from bench.learning_protocol import Bench, Round, first_labels, images_at, run_protocol  # noqa: E402
from ml_worker.segmentation.network import SegSpec, build_segmenter  # noqa: E402
from ml_worker.segmentation.pipeline import evaluate_model, score_pool, spec_for  # noqa: E402
from ml_worker.segmentation.training import SegTrainConfig, train_segmenter  # noqa: E402
from ml_worker.strategies import ranking  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared/data/segmentation/busbra/busbra_128.npz"
ARMS = (
    "random",
    "seg_entropy",
    "seg_disagreement",
    "seg_expected_dice",
    "seg_diversity",
    "cold_start",
    "seg_budget_aware",
)
BENCH = Bench(
    module="bench.segmentation_learning",
    metric="dice",
    metric_label="Dice",
    arms=ARMS,
    arm_help={
        "random": "uniform random (baseline)",
        "seg_entropy": "pixel entropy over predicted foreground + boundary band",
        "seg_disagreement": "test-time flip disagreement (mutual information) over the same region",
        "seg_expected_dice": "1 - the Dice the model expects of its own mask (decision 0429)",
        "seg_diversity": "seg_entropy candidates spread over k-means clusters of embeddings",
        "cold_start": "typical+diverse first batch (PCA embeddings), then seg_diversity",
        "seg_budget_aware": "random until each class is in 30 labelled images, then half "
        "seg_diversity over seg_expected_dice, half random",
    },
    plot_name="segmentation_learning.png",
    extras=("correction_effort",),
    extra_label="median correction effort (pixels changed / lesion pixels)",
)
# --quick: random and the product's default (seg_budget_aware); the other arms with --arms
# (decision 0359: a third arm does not fit 15 minutes on 2 cores).
QUICK_ARMS = ("random", "seg_budget_aware")
# --quick's schedule, the same for every arm: doubling to 160, then steps of 1.5x or less where
# random's curve crosses the target (320 of the 400-image pool in decision 0356's run), so a saving
# of 25 % or 50 % has a budget to show at (0356, 0359: 60 and 120 dropped for time).
QUICK_BUDGETS = (10, 20, 40, 80, 160, 240, 320)


@dataclass
class Data:
    train_x: np.ndarray  # (N, C, S, S) float32 in [0, 1]
    train_y: np.ndarray  # (N, S, S) int64 label maps
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    class_names: list[str]


@dataclass(frozen=True)
class Settings:
    size: int
    pool_size: int | None
    val_size: int | None
    spec: SegSpec
    train: SegTrainConfig
    budgets: tuple[int, ...] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "pool_size": self.pool_size,
            "val_size": self.val_size,
            "model": self.spec.to_dict(),
            "training": {k: v for k, v in asdict(self.train).items() if k != "augment"},
            "augment": self.train.augment is not None,
            "budgets": list(self.budgets) if self.budgets else None,
        }


def _masks(array: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W) label maps -> (N, S, S) int64, nearest-neighbour resize."""
    y = np.asarray(array)
    if y.shape[-1] != size or y.shape[-2] != size:
        rows = (np.arange(size) * y.shape[-2] / size).astype(np.int64)
        cols = (np.arange(size) * y.shape[-1] / size).astype(np.int64)
        y = y[:, rows][:, :, cols]
    return np.ascontiguousarray(y.astype(np.int64))


def load_npz(path: Path, settings: Settings) -> Data:
    with np.load(path) as d:
        need = [f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "masks")]
        missing = [k for k in [*need, "class_names"] if k not in d.files]
        if missing:
            raise SystemExit(
                f"{path}: not a segmentation npz in the standard layout (missing {missing})"
            )
        raw = {k: d[k] for k in need}
        names = [str(c) for c in d["class_names"]]
    data = Data(
        *(
            f(raw[f"{s}_{k}"], settings.size)
            for s in ("train", "val", "test")
            for k, f in (("images", images_at), ("masks", _masks))
        ),
        class_names=names,
    )
    top = max(int(v.max()) for v in (data.train_y, data.val_y, data.test_y))
    if top > len(names):
        raise SystemExit(f"{path}: masks hold label {top} but only {len(names)} class_names")
    rng = np.random.default_rng(0)
    if settings.pool_size is not None and settings.pool_size < len(data.train_y):
        keep = np.sort(rng.choice(len(data.train_y), settings.pool_size, replace=False))
        data.train_x, data.train_y = data.train_x[keep], data.train_y[keep]
    if settings.val_size is not None and settings.val_size < len(data.val_y):
        keep = np.sort(rng.choice(len(data.val_y), settings.val_size, replace=False))
        data.val_x, data.val_y = data.val_x[keep], data.val_y[keep]
    return data


def default_settings(args: argparse.Namespace) -> Settings:
    """The product's defaults (SegSpec, SegTrainConfig); --quick shrinks images, pool and
    validation set, keeps the product's training schedule (no early stop, the best validation
    epoch restored) and uses its own budget schedule (decisions 0356, 0359; docs/learning.md,
    "Segmentation")."""
    size = args.size or (64 if args.quick else 128)
    levels = 4 if size <= 64 else 5
    spec = replace(SegSpec(), input_size=size, channels=SegSpec().channels[:levels])
    train = replace(SegTrainConfig(), num_threads=1)
    if args.quick:
        # The product's schedule (max_epochs x max(labels, min_samples_per_epoch) samples), not
        # a shortened one: 12 epochs of 128 left every round below 160 labels short of optimiser
        # steps, so the curve measured steps, not labels (decision 0356). Patience = every epoch:
        # the best validation epoch is still restored, but a 100-image validation Dice is too
        # noisy to stop a run before its learning rate has decayed. Since decision 0358 the
        # product no longer stops rounds of <= 160 labels early; the 400-image reference (25 steps
        # per epoch) it still stops at epoch 20 (0.6539 against 0.6966 trained out, seed 0).
        train = replace(train, patience=train.max_epochs)
    if args.max_epochs:
        train = replace(train, max_epochs=args.max_epochs)
    if args.samples_per_epoch:
        train = replace(train, min_samples_per_epoch=args.samples_per_epoch)
    budgets = tuple(int(b) for b in args.budgets.split(",")) if args.budgets else None
    if budgets is None and args.quick:
        budgets = QUICK_BUDGETS
    pool = args.pool_size or (400 if args.quick else None)
    return Settings(
        size, pool, args.val_size or (100 if args.quick else None), spec, train, budgets
    )


# Worker-process state (bench/learning_protocol.py calls these in its worker processes).
_DATA: Data | None = None
_SETTINGS: Settings | None = None


def init(dataset: str, settings: Settings) -> None:
    global _DATA, _SETTINGS
    _SETTINGS = settings
    _DATA = load_npz(Path(dataset), settings)


def _ctx() -> tuple[Data, Settings]:
    assert _DATA is not None and _SETTINGS is not None, "worker not initialised"
    return _DATA, _SETTINGS


def pool_size() -> int:
    return len(_ctx()[0].train_y)


def spec_of(data: Data, settings: Settings, labeled: np.ndarray) -> SegSpec:
    """The settings' network, normalised on the labelled images (as the product's job does)."""
    return spec_for(
        data.train_x[labeled],
        len(data.class_names),
        channels=settings.spec.channels,
        num_res_units=settings.spec.num_res_units,
        dropout=settings.spec.dropout,
    )


def train_and_measure(labeled: np.ndarray, seed: int) -> tuple[Any, Round]:
    data, settings = _ctx()
    started = time.monotonic()
    spec = spec_of(data, settings, labeled)
    result = train_segmenter(
        build_segmenter(spec, seed=seed),
        data.train_x[labeled],
        data.train_y[labeled],
        data.val_x,
        data.val_y,
        replace(settings.train, seed=seed),
    )
    temperature, report = evaluate_model(
        result.model, data.val_x, data.val_y, data.test_x, data.test_y, data.class_names
    )
    effort = report["correction_effort_median"]
    return result.model, Round(
        labels=len(labeled),
        value=float(report["dice"]),
        seconds=time.monotonic() - started,
        extras={"correction_effort": float("nan") if effort is None else float(effort)},
        state=temperature,
    )


def initial_labels(arm: str, seed: int, count: int) -> np.ndarray:
    return first_labels(arm, seed, count, _ctx()[0].train_x, score_pool)


def acquire(
    arm: str, seed: int, labeled: np.ndarray, model: Any, temperature: float | None, count: int
) -> np.ndarray:
    """Ask `count` more simulated doctors, chosen by the arm's strategy from the current model."""
    data, _ = _ctx()
    unlabeled = np.setdiff1d(np.arange(len(data.train_y)), labeled)
    count = min(count, len(unlabeled))
    name = "seg_diversity" if arm == "cold_start" else arm
    counts = np.array(
        [
            int((data.train_y[labeled] == k).reshape(len(labeled), -1).any(axis=1).sum())
            for k in range(1, len(data.class_names) + 1)
        ]
    )
    scores = score_pool(
        None if name == "random" else model,
        data.train_x[unlabeled],
        name,
        temperature=1.0 if temperature is None else temperature,
        labeled_counts=counts,
        batch_size=count,
        seed=10_000 * seed + len(labeled),
    )
    return np.sort(np.concatenate([labeled, unlabeled[ranking(scores)[:count]]]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed+seeds-1"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="64 px, 400-image pool, 100 val images, the product's training, budgets "
        f"{','.join(map(str, QUICK_BUDGETS))}, arms {','.join(QUICK_ARMS)} (decision 0359)",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "out" / "segmentation_learning"
    )
    parser.add_argument(
        "--arms",
        default=None,
        help=f"comma list of {ARMS} (default all; --quick: {','.join(QUICK_ARMS)})",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (1 torch thread each)")
    parser.add_argument(
        "--size", type=int, default=None, help="image side (default 128; --quick 64)"
    )
    parser.add_argument(
        "--pool-size", type=int, default=None, help="seeded subset of the train split"
    )
    parser.add_argument("--val-size", type=int, default=None, help="seeded subset of the val split")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--samples-per-epoch", type=int, default=None, help="resampled minimum")
    parser.add_argument("--budgets", default=None, help="comma list replacing the schedule")
    parser.add_argument(
        "--time-limit-s", type=float, default=None, help="stop extending random's schedule after"
    )
    args = parser.parse_args(argv)

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    arms = [a for a in (args.arms or ",".join(QUICK_ARMS if args.quick else ARMS)).split(",") if a]
    settings = default_settings(args)
    data = load_npz(args.dataset, settings)
    n = len(data.train_y)
    empty = float((data.train_y.reshape(n, -1).max(axis=1) == 0).mean())
    run_protocol(
        BENCH,
        dataset=args.dataset,
        settings=settings,
        seeds=seeds,
        arms=arms,
        quick=args.quick,
        workers=args.workers,
        out=args.out,
        time_limit_s=args.time_limit_s,
        budgets_fixed=settings.budgets,
        header=(
            f"dataset {args.dataset.name}: classes {data.class_names}, pool {n} ({empty:.0%} "
            f"empty), val {len(data.val_y)}, test {len(data.test_y)}, {settings.size} px"
        ),
        title=f"{args.dataset.name}, {settings.size} px, {len(seeds)} seeds",
        summary_extra={"class_names": data.class_names},
        full_extras=lambda full: {
            "full_data_correction_effort": float(
                np.mean([r.extras["correction_effort"] for r in full])
            )
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
