"""Detection learning benchmark: do the detection strategies save doctors' boxes?

Simulated doctors answer with the boxes of an npz in the standard segmentation layout
(../shared/data/segmentation/busbra/README.md): each object of `{split}_instances` is one box,
its class the majority of `{split}_masks` under it; an image without objects is a "no findings"
negative. Every round runs the product's own code: `ml_worker.detection.training.train_detector`
(MONAI RetinaNet, paired box augmentation, EMA, early stopping on validation FROC),
`ml_worker.detection.pipeline.evaluate_model` (FROC and COCO mAP on test) and `score_pool` with the
strategies registered in `ml_worker.strategies`. The protocol is bench/learning_protocol.py's
(the segmentation bench's); the metric is test FROC: mean sensitivity at 0.5, 1, 2 and 4 false
positives per image (a hit: IoU >= 0.3), as stored with each model version.

Usage: python bench/detection_learning.py [--dataset PATH.npz] [--seeds 3] [--quick] [--out DIR]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench/active_learning.py

import argparse
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from bench.learning_protocol import Bench, Round, first_labels, images_at, run_protocol  # noqa: E402
from ml_worker.detection.boxes import BoxTarget, boxes_from_instances  # noqa: E402
from ml_worker.detection.network import DetSpec, build_detector  # noqa: E402
from ml_worker.detection.pipeline import evaluate_model, score_pool, spec_for  # noqa: E402
from ml_worker.detection.training import DetTrainConfig, train_detector  # noqa: E402
from ml_worker.strategies import ranking  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared/data/segmentation/busbra/busbra_128.npz"
ARMS = (
    "random",
    "det_uncertainty",
    "det_uncertainty_mixed",
    "det_expected_error",
    "det_flip_disagreement",
    "det_diversity",
    "cold_start",
    "det_budget_aware",
)
BENCH = Bench(
    module="bench.detection_learning",
    metric="froc",
    metric_label="FROC (mean sensitivity at 0.5-4 FP/image)",
    arms=ARMS,
    arm_help={
        "random": "uniform random (baseline)",
        "det_uncertainty": "most uncertain box (entropy), or 1 - max score",
        "det_uncertainty_mixed": "det_uncertainty with half of each batch random",
        "det_expected_error": "1 - the F1 the detector expects of its own shown boxes",
        "det_flip_disagreement": "boxes moving or vanishing under a left-right flip",
        "det_diversity": "det_uncertainty candidates spread over k-means clusters of embeddings",
        "cold_start": "typical+diverse first batch (PCA embeddings), then det_diversity",
        "det_budget_aware": (
            "random until each class is in 30 labelled images, then half random, half det_diversity"
        ),
    },
    plot_name="detection_learning.png",
    extras=("map_50",),
    extra_label="test mAP@0.5 (pycocotools)",
)
# --quick: random, the product's default for detection projects (det_budget_aware) and its
# uncertainty arm alone, as the segmentation bench does; the full run keeps every arm.
QUICK_ARMS = ("random", "det_budget_aware", "det_uncertainty")


@dataclass
class Data:
    train_x: np.ndarray  # (N, C, S, S) float32 in [0, 1]
    train_y: list[BoxTarget]  # boxes at S
    val_x: np.ndarray
    val_y: list[BoxTarget]
    test_x: np.ndarray
    test_y: list[BoxTarget]
    class_names: list[str]


@dataclass(frozen=True)
class Settings:
    size: int
    pool_size: int | None
    val_size: int | None
    test_size: int | None
    train: DetTrainConfig
    budgets: tuple[int, ...] | None
    # Detectors trained per round on the same labelled set (training seeds seed, seed + 1000, ...):
    # the round's metric is their mean (decision 0365).
    train_repeats: int = 1

    def to_dict(self) -> dict[str, Any]:
        # train_repeats only when set: older reference caches (keyed by this dict) stay valid.
        repeats = {"train_repeats": self.train_repeats} if self.train_repeats != 1 else {}
        return {
            "size": self.size,
            "pool_size": self.pool_size,
            "val_size": self.val_size,
            "test_size": self.test_size,
            "model": replace(DetSpec(), input_size=self.size).to_dict(),
            "training": {k: v for k, v in asdict(self.train).items() if k != "augment"},
            "augment": self.train.augment is not None,
            "budgets": list(self.budgets) if self.budgets else None,
            **repeats,
        }


def _boxes(instances: np.ndarray, masks: np.ndarray, size: int) -> list[BoxTarget]:
    rows, cols = instances.shape[-2:]
    return [
        boxes_from_instances(i, m).scaled(size / cols, size / rows)
        for i, m in zip(instances, masks, strict=True)
    ]


def _subset(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size, replace=False))


def load_npz(path: Path, settings: Settings) -> Data:
    with np.load(path) as d:
        need = [
            f"{s}_{k}" for s in ("train", "val", "test") for k in ("images", "masks", "instances")
        ]
        missing = [k for k in [*need, "class_names"] if k not in d.files]
        if missing:
            raise SystemExit(f"{path}: not an npz in the standard layout (missing {missing})")
        raw = {k: d[k] for k in need}
        names = [str(c) for c in d["class_names"]]
    rng = np.random.default_rng(0)
    parts: dict[str, Any] = {}
    for split, limit in (("train", settings.pool_size), ("val", settings.val_size),
                         ("test", settings.test_size)):  # fmt: skip
        keep = _subset(len(raw[f"{split}_images"]), limit, rng)
        parts[f"{split}_x"] = images_at(raw[f"{split}_images"][keep], settings.size)
        parts[f"{split}_y"] = _boxes(
            raw[f"{split}_instances"][keep], raw[f"{split}_masks"][keep], settings.size
        )
    return Data(**parts, class_names=names)


def default_settings(args: argparse.Namespace) -> Settings:
    """The product's defaults (DetSpec, DetTrainConfig); --quick shrinks images, pool and test
    set to fit 15 minutes on 2 cores and keeps the product's training schedule: the shorter one
    before decision 0431 left small rounds short of optimiser steps, so the curve measured steps,
    not labels (docs/learning.md, "Detection")."""
    size = args.size or (64 if args.quick else 128)
    train = replace(DetTrainConfig(), num_threads=1)
    if args.quick and args.short_schedule:
        # The schedule before decision 0431: 8 epochs of max(labels, 96) samples.
        train = replace(train, max_epochs=8, min_samples_per_epoch=96, patience=3)
    if args.max_epochs:
        train = replace(train, max_epochs=args.max_epochs)
    if args.samples_per_epoch:
        train = replace(train, min_samples_per_epoch=args.samples_per_epoch)
    budgets = tuple(int(b) for b in args.budgets.split(",")) if args.budgets else None
    return Settings(
        size,
        args.pool_size or (300 if args.quick else None),
        args.val_size or (60 if args.quick else None),
        args.test_size or (150 if args.quick else None),
        train,
        budgets,
        args.train_repeats,
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


def train_and_measure(labeled: np.ndarray, seed: int) -> tuple[Any, Round]:
    """Train `train_repeats` detectors on the labelled set and report their mean metric; the first
    (training seed `seed`) is the model the next acquisition scores with. One detector trained on
    a few dozen boxes is one draw of a noisy variable (decision 0365)."""
    _, settings = _ctx()
    trained = [_train_once(labeled, seed + 1000 * r) for r in range(settings.train_repeats)]
    model, first = trained[0]
    if len(trained) == 1:
        return model, first
    rounds = [r for _, r in trained]
    return model, Round(
        labels=first.labels,
        value=float(np.mean([r.value for r in rounds])),
        seconds=float(sum(r.seconds for r in rounds)),
        extras={k: float(np.mean([r.extras[k] for r in rounds])) for k in first.extras},
    )


def _train_once(labeled: np.ndarray, seed: int) -> tuple[Any, Round]:
    data, settings = _ctx()
    boxes = [data.train_y[i] for i in labeled]
    spec = spec_for(data.train_x[labeled], len(data.class_names))
    result = train_detector(
        build_detector(spec, seed=seed),
        data.train_x[labeled],
        boxes,
        data.val_x,
        data.val_y,
        replace(settings.train, seed=seed),
    )
    _, report = evaluate_model(result.model, None, None, data.test_x, data.test_y, data.class_names)
    return result.model, Round(
        labels=len(labeled),
        value=float(report["froc_mean"]),
        seconds=result.seconds,
        extras={
            "map_50": float(report["map_50"] or 0.0),
            "sens_at_1fp": report["froc"]["1"],
            # The sensitivity target is judged at IoU 0.5 as well (decision 0363).
            "sens_at_1fp_iou50": report["froc_iou50"]["1"],
        },
    )


def initial_labels(arm: str, seed: int, count: int) -> np.ndarray:
    return first_labels(arm, seed, count, _ctx()[0].train_x, score_pool)


def acquire(
    arm: str, seed: int, labeled: np.ndarray, model: Any, state: Any, count: int
) -> np.ndarray:
    """Ask `count` more simulated doctors, chosen by the arm's strategy from the current model."""
    data, _ = _ctx()
    unlabeled = np.setdiff1d(np.arange(len(data.train_y)), labeled)
    count = min(count, len(unlabeled))
    name = "det_diversity" if arm == "cold_start" else arm
    counts = np.array(
        [
            sum(1 for i in labeled if (data.train_y[i].labels == k).any())
            for k in range(len(data.class_names))
        ]
    )
    scores = score_pool(
        None if name == "random" else model,
        data.train_x[unlabeled],
        name,
        labeled_counts=counts,
        batch_size=count,
        seed=10_000 * seed + len(labeled),
    )
    return np.sort(np.concatenate([labeled, unlabeled[ranking(scores)[:count]]]))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
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
        help="64 px, 300-image pool, 150 test images, the product's training schedule: about "
        "12 min on 2 quiet cores",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "detection_learning")
    parser.add_argument(
        "--arms",
        default=None,
        help=f"comma list of {ARMS} (default all; --quick: {','.join(QUICK_ARMS)})",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (1 torch thread each)")
    parser.add_argument(
        "--size", type=int, default=None, help="image side (default 128; --quick 64)"
    )
    parser.add_argument("--pool-size", type=int, default=None, help="seeded subset of train")
    parser.add_argument("--val-size", type=int, default=None, help="seeded subset of val")
    parser.add_argument("--test-size", type=int, default=None, help="seeded subset of test")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--samples-per-epoch", type=int, default=None, help="resampled minimum")
    parser.add_argument("--budgets", default=None, help="comma list replacing the schedule")
    parser.add_argument(
        "--train-repeats",
        type=int,
        default=1,
        help="detectors trained per round (seeds s, s+1000, ...); the round reports their mean",
    )
    parser.add_argument(
        "--short-schedule",
        action="store_true",
        help="--quick with 8 epochs of max(labels, 96) samples (before decision 0431)",
    )
    parser.add_argument(
        "--time-limit-s", type=float, default=None, help="stop extending random's schedule after"
    )
    args = parser.parse_args(argv)
    if args.train_repeats < 1:
        parser.error("--train-repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    arms = [a for a in (args.arms or ",".join(QUICK_ARMS if args.quick else ARMS)).split(",") if a]
    settings = default_settings(args)
    data = load_npz(args.dataset, settings)
    n = len(data.train_y)
    empty = sum(1 for t in data.train_y if len(t) == 0) / max(n, 1)
    per_image = sum(len(t) for t in data.train_y) / max(n, 1)
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
            f"without objects, {per_image:.1f} boxes per image), val {len(data.val_y)}, "
            f"test {len(data.test_y)}, {settings.size} px"
        ),
        title=f"{args.dataset.name}, {settings.size} px, {len(seeds)} seeds",
        summary_extra={"class_names": data.class_names},
        full_extras=lambda full: {
            "full_data_sensitivity_at_1fp": float(np.mean([r.extras["sens_at_1fp"] for r in full])),
            "full_data_sensitivity_at_1fp_iou50": float(
                np.mean([r.extras["sens_at_1fp_iou50"] for r in full])
            ),
            "full_data_map_50": float(np.mean([r.extras["map_50"] for r in full])),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
