"""Segmentation learning benchmark: do the segmentation strategies save doctors' outlines?

Simulated doctors answer from an npz's masks (the standard layout of
../shared/data/segmentation/busbra/README.md: {train,val,test}_{images,masks,...}, class_names).
Every round runs the product's own code: `ml_worker.segmentation.training.train_segmenter` (MONAI
U-Net, Dice + cross-entropy, paired augmentation, EMA, early stopping on validation Dice),
`ml_worker.segmentation.pipeline.evaluate_model` (temperature on validation pixels, Dice on test)
and `score_pool` with the strategies registered in `ml_worker.strategies`.

Protocol (as bench/active_learning.py):
- pool = the train split (masks hidden until "asked"), val = early stopping and temperature,
  test = reporting only. The full-data reference trains on the whole pool; target = 95 % of its
  mean test Dice (mean foreground Dice per image).
- Random runs first, all seeds in lockstep, along a budget schedule that stops where its mean
  test Dice reaches the target. Every other arm then runs that schedule with the same initial
  random labels per seed, and round generators seeded by (seed, labelled count) (paired).
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
import hashlib
import json
import math
import multiprocessing
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from ml_worker.segmentation.network import SegSpec, build_segmenter  # noqa: E402
from ml_worker.segmentation.pipeline import evaluate_model, score_pool, spec_for  # noqa: E402
from ml_worker.segmentation.training import SegTrainConfig, train_segmenter  # noqa: E402
from ml_worker.strategies import ranking  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared/data/segmentation/busbra/busbra_128.npz"
ARMS = (
    "random",
    "seg_entropy",
    "seg_disagreement",
    "seg_diversity",
    "cold_start",
    "seg_budget_aware",
)
ARM_HELP = {
    "random": "uniform random (baseline)",
    "seg_entropy": "pixel entropy over predicted foreground + boundary band",
    "seg_disagreement": "test-time flip disagreement (mutual information) over the same region",
    "seg_diversity": "seg_entropy candidates spread over k-means clusters of embeddings",
    "cold_start": "typical+diverse first batch (PCA embeddings), then seg_diversity",
    "seg_budget_aware": "random until each class is in 30 labelled images, then seg_diversity",
}
# --quick: random, the product's default (seg_budget_aware) and its uncertainty phase alone.
QUICK_ARMS = ("random", "seg_budget_aware", "seg_diversity")


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


def _images(array: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) -> (N, C, S, S) float32 in [0, 1] (area resize)."""
    x = array.astype(np.float32) / (
        255.0 if array.dtype == np.uint8 else max(1.0, float(array.max()))
    )
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    if x.shape[-1] != size or x.shape[-2] != size:
        import torch
        import torch.nn.functional as F

        x = F.interpolate(torch.from_numpy(x), size=(size, size), mode="area").numpy()
    return np.ascontiguousarray(x)


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
            for k, f in (("images", _images), ("masks", _masks))
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
    """The product's defaults (SegSpec, SegTrainConfig); --quick shrinks images, pool and epochs
    to fit 15 minutes on 2 cores (docs/learning.md, "Segmentation")."""
    size = args.size or (64 if args.quick else 128)
    levels = 4 if size <= 64 else 5
    spec = replace(SegSpec(), input_size=size, channels=SegSpec().channels[:levels])
    train = replace(SegTrainConfig(), num_threads=1)
    if args.quick:
        train = replace(train, max_epochs=12, min_samples_per_epoch=128, patience=3)
    if args.max_epochs:
        train = replace(train, max_epochs=args.max_epochs)
    if args.samples_per_epoch:
        train = replace(train, min_samples_per_epoch=args.samples_per_epoch)
    budgets = tuple(int(b) for b in args.budgets.split(",")) if args.budgets else None
    pool = args.pool_size or (400 if args.quick else None)
    return Settings(
        size, pool, args.val_size or (100 if args.quick else None), spec, train, budgets
    )


# Worker-process state, loaded once per process.
_DATA: Data | None = None
_SETTINGS: Settings | None = None


def _init_worker(dataset: str, settings: Settings, threads: int) -> None:
    import torch

    global _DATA, _SETTINGS
    torch.set_num_threads(threads)
    _SETTINGS = settings
    _DATA = load_npz(Path(dataset), settings)


def _ctx() -> tuple[Data, Settings]:
    assert _DATA is not None and _SETTINGS is not None, "worker not initialised"
    return _DATA, _SETTINGS


@dataclass
class RoundResult:
    labels: int
    dice: float
    effort: float  # median correction effort over test images with a lesion
    temperature: float
    seconds: float
    cpu_seconds: float = 0.0  # this process's CPU time: the cost on a quiet box, whatever the load


def train_and_measure(labeled: np.ndarray, seed: int) -> tuple[Any, RoundResult]:
    data, settings = _ctx()
    started, cpu_started = time.monotonic(), time.process_time()
    spec = spec_for(
        data.train_x[labeled],
        len(data.class_names),
        channels=settings.spec.channels,
        num_res_units=settings.spec.num_res_units,
        dropout=settings.spec.dropout,
    )
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
    return result.model, RoundResult(
        labels=len(labeled),
        dice=float(report["dice"]),
        effort=float("nan") if effort is None else float(effort),
        temperature=temperature,
        seconds=time.monotonic() - started,
        cpu_seconds=time.process_time() - cpu_started,
    )


def initial_labels(arm: str, seed: int, count: int) -> np.ndarray:
    data, _ = _ctx()
    n = len(data.train_y)
    if arm == "cold_start":
        scores = score_pool(None, data.train_x, "cold_start", batch_size=count, seed=seed)
        return np.sort(ranking(scores)[:count])
    return np.sort(np.random.default_rng(1000 + seed).choice(n, size=count, replace=False))


def acquire(
    arm: str, seed: int, labeled: np.ndarray, model: Any, temperature: float, count: int
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
        temperature=temperature,
        labeled_counts=counts,
        batch_size=count,
        seed=10_000 * seed + len(labeled),
    )
    return np.sort(np.concatenate([labeled, unlabeled[ranking(scores)[:count]]]))


def run_random_round(
    seed: int, budget: int, previous: np.ndarray | None
) -> tuple[np.ndarray, RoundResult]:
    started, cpu_started = time.monotonic(), time.process_time()
    if previous is None:
        labeled = initial_labels("random", seed, budget)
    else:
        labeled = acquire("random", seed, previous, None, 1.0, budget - len(previous))
    _, result = train_and_measure(labeled, seed)
    result.seconds = time.monotonic() - started
    result.cpu_seconds = time.process_time() - cpu_started
    return labeled, result


def run_chain(arm: str, seed: int, budgets: list[int]) -> list[RoundResult]:
    labeled = initial_labels(arm, seed, budgets[0])
    results: list[RoundResult] = []
    model, temperature = None, 1.0
    for budget in budgets:
        started, cpu_started = time.monotonic(), time.process_time()
        if len(labeled) < budget:
            labeled = acquire(arm, seed, labeled, model, temperature, budget - len(labeled))
        model, result = train_and_measure(labeled, seed)
        temperature = result.temperature
        result.seconds = time.monotonic() - started
        result.cpu_seconds = time.process_time() - cpu_started
        results.append(result)
        print(
            f"  {arm:16} seed {seed} @ {budget:5d}: Dice {result.dice:.4f} "
            f"({result.seconds:.0f} s, CPU {result.cpu_seconds:.0f} s)",
            flush=True,
        )
    return results


def run_full_reference(seed: int) -> RoundResult:
    data, _ = _ctx()
    return train_and_measure(np.arange(len(data.train_y)), seed)[1]


def reference_key(dataset: Path, settings: Settings, seed: int) -> str:
    """The full-data reference depends only on the file, the settings and the seed."""
    stat = dataset.stat()
    text = json.dumps(
        [str(dataset.resolve()), stat.st_size, stat.st_mtime_ns, settings.to_dict(), seed],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class ReferenceCache:
    """Full-data reference rounds kept between runs (next to --out): the reference trains on the
    whole pool, the most expensive round of a run, and does not change while the dataset and the
    settings do not (they are the key)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, dict[str, float]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def get(self, key: str) -> RoundResult | None:
        entry = self.entries.get(key)
        return RoundResult(**entry) if entry else None  # type: ignore[arg-type]

    def put(self, key: str, result: RoundResult) -> None:
        self.entries[key] = asdict(result)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=1))


def schedule(pool_size: int, quick: bool, fixed: tuple[int, ...] | None) -> list[int]:
    if fixed:
        steps = list(fixed)
    elif quick:
        steps = [10, 20, 40, 80, 160, 320]  # x2 per round: 6 rounds to the 400-image pool
    else:
        steps = [10, 15, 20, 30, 45, 65, 100, 140, 200, 280, 400, 560, 800, 1120]
    return [b for b in steps if b < pool_size] + [pool_size]


def aubc(budgets: list[int], values: list[float]) -> float:
    """Normalised area under the metric-vs-log(labels) curve."""
    if len(budgets) < 2:
        return float(values[0]) if values else float("nan")
    x = np.log(np.asarray(budgets, dtype=np.float64))
    y = np.asarray(values, dtype=np.float64)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def labels_to_target(budgets: list[int], means: list[float], target: float) -> int | None:
    for b, m in zip(budgets, means, strict=True):
        if m >= target:
            return b
    return None


def plot(
    out: Path,
    budgets: list[int],
    curves: dict[str, np.ndarray],
    efforts: dict[str, np.ndarray],
    target: float,
    title: str,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5), dpi=110)
    for arm, dice in curves.items():
        x = budgets[: dice.shape[1]]
        (line,) = ax.plot(x, dice.mean(axis=0), marker="o", ms=3, label=f"{arm}: {ARM_HELP[arm]}")
        ax.fill_between(x, dice.min(axis=0), dice.max(axis=0), color=line.get_color(), alpha=0.15)
        bx.plot(
            x, np.nanmean(efforts[arm], axis=0), marker="o", ms=3, color=line.get_color(), label=arm
        )
    ax.axhline(target, color="black", ls="--", lw=1, label=f"95% of full-data Dice ({target:.3f})")
    for a in (ax, bx):
        a.set_xscale("log")
        a.set_xlabel("labelled images (simulated doctors' outlines)")
        a.grid(True, which="both", alpha=0.3)
    ax.set_ylabel("test Dice (mean over seeds; band = min..max)")
    bx.set_ylabel("median correction effort (pixels changed / lesion pixels)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    bx.legend(fontsize=7)
    fig.tight_layout()
    path = out / "segmentation_learning.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="64 px, 400-image pool, 12 epochs, 3 arms: < 15 min on 2 cores",
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

    seeds = list(range(args.seeds))
    arms = [a for a in (args.arms or ",".join(QUICK_ARMS if args.quick else ARMS)).split(",") if a]
    if set(arms) - set(ARMS) or "random" not in arms:
        raise SystemExit(f"--arms must include random and only {ARMS}; got {arms}")
    settings = default_settings(args)
    limit = args.time_limit_s or math.inf
    started = time.monotonic()
    data = load_npz(args.dataset, settings)
    n = len(data.train_y)
    empty = float((data.train_y.reshape(n, -1).max(axis=1) == 0).mean())
    print(
        f"dataset {args.dataset.name}: classes {data.class_names}, pool {n} ({empty:.0%} empty), "
        f"val {len(data.val_y)}, test {len(data.test_y)}, {settings.size} px; seeds {seeds}; "
        f"arms {arms}; "
        f"{args.workers} workers x 1 thread; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        args.workers, initializer=_init_worker, initargs=(str(args.dataset), settings, 1)
    ) as pool:
        full_seeds = seeds[: 1 if args.quick else min(3, len(seeds))]
        cache = ReferenceCache(args.out.parent / "segmentation_reference_cache.json")
        keys = [reference_key(args.dataset, settings, s) for s in full_seeds]
        todo = [s for s, k in zip(full_seeds, keys, strict=True) if cache.get(k) is None]
        fresh = dict(zip(todo, pool.map(run_full_reference, todo), strict=True))
        full = []
        for seed, key in zip(full_seeds, keys, strict=True):
            r = fresh.get(seed) or cache.get(key)
            assert r is not None
            if seed in fresh:
                cache.put(key, r)
            full.append(r)
            print(
                f"full data, seed {seed}: test Dice {r.dice:.4f}, effort {r.effort:.3f}, "
                f"{r.seconds:.0f} s" + ("" if seed in fresh else f" (cached in {cache.path})"),
                flush=True,
            )
        full_dice = float(np.mean([r.dice for r in full]))
        target = 0.95 * full_dice
        print(f"full-data Dice {full_dice:.4f}; target = 95% = {target:.4f}", flush=True)

        budgets: list[int] = []
        labeled: dict[int, np.ndarray | None] = dict.fromkeys(seeds)
        random_results: dict[int, list[RoundResult]] = {s: [] for s in seeds}
        for budget in schedule(n, args.quick, settings.budgets):
            out = pool.starmap(run_random_round, [(s, budget, labeled[s]) for s in seeds])
            for s, (lab, result) in zip(seeds, out, strict=True):
                labeled[s] = lab
                random_results[s].append(result)
            budgets.append(budget)
            mean = float(np.mean([r.dice for _, r in out]))
            print(
                f"random           @ {budget:5d}: Dice {mean:.4f}  "
                f"[{time.monotonic() - started:.0f} s]",
                flush=True,
            )
            if mean >= target:
                break
            if time.monotonic() - started > limit:
                print("time limit: random's schedule stops here (target not reached)", flush=True)
                break
        jobs = [(arm, s) for arm in arms if arm != "random" for s in seeds]
        chains = pool.starmap(run_chain, [(arm, s, budgets) for arm, s in jobs])
    results = {("random", s): random_results[s] for s in seeds}
    results.update(dict(zip(jobs, chains, strict=True)))

    curves = {a: np.array([[r.dice for r in results[(a, s)]] for s in seeds]) for a in arms}
    efforts = {a: np.array([[r.effort for r in results[(a, s)]] for s in seeds]) for a in arms}
    random_mean = curves["random"].mean(axis=0)
    l_random = labels_to_target(budgets, random_mean.tolist(), target)
    summary: dict[str, Any] = {
        "dataset": str(args.dataset),
        "class_names": data.class_names,
        "full_data_dice": full_dice,
        "full_data_dice_per_seed": [r.dice for r in full],
        "full_data_correction_effort": float(np.mean([r.effort for r in full])),
        "full_data_seconds": [r.seconds for r in full],
        "full_data_from_cache": [s not in fresh for s in full_seeds],
        "target_dice": target,
        "seeds": seeds,
        "budgets": budgets,
        "quick": args.quick,
        "settings": settings.to_dict(),
        "workers": args.workers,
        "strategies": {},
    }
    print(
        f"\n{'strategy':17} {'labels→95%':>10} {'saving':>7} {'AUBC':>6} {'worst gap':>9} "
        f"{'final Dice':>10} {'s/round':>7}"
    )
    for arm in arms:
        means = curves[arm].mean(axis=0)
        reach = labels_to_target(budgets, means.tolist(), target)
        saving = None if reach is None or l_random is None else 1 - reach / l_random
        rounds = [r for s in seeds for r in results[(arm, s)]]
        entry = {
            "labels_to_target": reach,
            "saving_vs_random": saving,
            "aubc": aubc(budgets, means.tolist()),
            "worst_gap_to_random": float((means - random_mean).min()),
            "final_dice": float(means[-1]),
            "dice_mean": means.tolist(),
            "dice_per_seed": curves[arm].tolist(),
            "correction_effort_median": np.nanmean(efforts[arm], axis=0).tolist(),
            "seconds_per_round": float(np.mean([r.seconds for r in rounds])),
            "description": ARM_HELP[arm],
        }
        summary["strategies"][arm] = entry
        saving_text = "—" if saving is None else f"{saving:+.0%}"
        print(
            f"{arm:17} {reach if reach is not None else '—':>10} {saving_text:>7} "
            f"{entry['aubc']:6.4f} {entry['worst_gap_to_random']:+9.4f} "
            f"{entry['final_dice']:10.4f} {entry['seconds_per_round']:7.1f}"
        )
    print("\nmean test Dice / median correction effort per budget:")
    print("labels " + " ".join(f"{a:>22}" for a in arms))
    for i, b in enumerate(budgets):
        print(
            f"{b:6d} "
            + " ".join(
                f"{curves[a][:, i].mean():12.4f} / {np.nanmean(efforts[a][:, i]):7.3f}"
                for a in arms
            )
        )
    summary["total_seconds"] = time.monotonic() - started
    # CPU seconds of every training round (one torch thread each): divided by the workers, the
    # wall time of this run on an otherwise idle machine (a lower bound: lockstep rounds idle).
    cpu = sum(r.cpu_seconds for rounds in results.values() for r in rounds)
    cpu += sum(r.cpu_seconds for r, s in zip(full, full_seeds, strict=True) if s in fresh)
    summary["round_cpu_seconds"] = cpu
    summary["load_average_at_end"] = os.getloadavg()[0]
    print(
        f"round CPU time {cpu:.0f} s over {args.workers} workers (quiet-box floor "
        f"{cpu / args.workers:.0f} s); wall {summary['total_seconds']:.0f} s at load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    png = plot(
        args.out,
        budgets,
        curves,
        efforts,
        target,
        f"{args.dataset.name}, {settings.size} px, {len(seeds)} seeds",
    )
    print(f"\nwrote {args.out / 'summary.json'} and {png}")
    others = [a for a in arms if a != "random"] or ["random"]
    best = max(
        others,
        key=lambda a: (
            summary["strategies"][a]["saving_vs_random"] or -math.inf,
            summary["strategies"][a]["aubc"],
        ),
    )
    b = summary["strategies"][best]
    saving_text = "None" if b["saving_vs_random"] is None else f"{b['saving_vs_random']:.3f}"
    print(
        f"full_data_dice={full_dice:.4f} target_dice={target:.4f} "
        f"random_labels_to_target={l_random} "
        f"best={best} best_saving={saving_text} best_worst_gap={b['worst_gap_to_random']:.4f} "
        f"total_s={summary['total_seconds']:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
