"""Does the U-Net learn from unlabelled images? Supervised only against FixMatch (decision 0427).

On a segmentation npz in the standard layout (../shared/data/segmentation/busbra/README.md;
default BUS-BRA): for each seed and each labelled count, the same seeded random images of the
train split are labelled; the rest of the split (at most `--max-unlabeled`) is the unlabelled
pool. Both arms run the product's code and defaults (`SegSpec`, `SegTrainConfig`, validation
early stopping on the val split, `evaluate_model` on the test split); the semi arm adds
`SegSemiConfig()` and the unlabelled pool. Same seed, same labels, same initial weights: the
seeds are paired. Torch single-threaded, one run per worker process.

Prints one row per (labels, seed), then per labelled count the mean test Dice of each arm, the
mean paired gain with its 95 % Student-t interval and the paired t-test's two-sided p, and a last
line `labels=L supervised_dice=D semi_dice=D mean_gain=G gain_ci95=LO..HI p=P seeds=S
total_s=X` (means over every labelled count and seed).

Usage: python bench/semi_segmentation.py [--dataset PATH.npz] [--labels 20,40] [--seeds 0,1,2]
       [--size 64] [--val-size 100] [--max-unlabeled 1000] [--workers 2] [--max-epochs N]
       [--min-steps 300]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see bench/active_learning.py

import argparse
import multiprocessing
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from bench.segmentation_learning import (  # noqa: E402
    DEFAULT_DATASET,
    Data,
    Settings,
    load_npz,
    spec_of,
)
from ml_worker.segmentation.network import SegSpec, build_segmenter  # noqa: E402
from ml_worker.segmentation.pipeline import evaluate_model  # noqa: E402
from ml_worker.segmentation.semi import SegSemiConfig  # noqa: E402
from ml_worker.segmentation.training import SegTrainConfig, train_segmenter  # noqa: E402

_DATA: Data | None = None
_SETTINGS: Settings | None = None


def settings_for(size: int, val_size: int | None, max_epochs: int | None = None) -> Settings:
    levels = 4 if size <= 64 else 5
    spec = replace(SegSpec(), input_size=size, channels=SegSpec().channels[:levels])
    train = replace(SegTrainConfig(), num_threads=1)
    if max_epochs:  # the tests' tiny runs; the figures use the product's schedule
        train = replace(train, max_epochs=max_epochs)
    return Settings(size, None, val_size, spec, train, None)


def _init(dataset: str, settings: Settings) -> None:
    import torch

    global _DATA, _SETTINGS
    torch.set_num_threads(1)
    _SETTINGS, _DATA = settings, load_npz(Path(dataset), settings)


def labelled_and_pool(n: int, labels: int, seed: int, max_unlabeled: int) -> tuple[Any, Any]:
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:labels]), np.sort(order[labels : labels + max_unlabeled])


def run_one(job: tuple[int, int, bool, int, int]) -> dict[str, Any]:
    labels, seed, semi, max_unlabeled, min_steps = job
    assert _DATA is not None and _SETTINGS is not None
    data, settings = _DATA, _SETTINGS
    labelled, pool = labelled_and_pool(len(data.train_y), labels, seed, max_unlabeled)
    started = time.monotonic()
    spec = spec_of(data, settings, labelled)
    semi_config = SegSemiConfig(min_steps=min_steps) if semi else None
    config = replace(settings.train, seed=seed, semi=semi_config)
    result = train_segmenter(
        build_segmenter(spec, seed=seed),
        data.train_x[labelled],
        data.train_y[labelled],
        data.val_x,
        data.val_y,
        config,
        unlabeled_images=data.train_x[pool] if semi else None,
    )
    _, report = evaluate_model(
        result.model, data.val_x, data.val_y, data.test_x, data.test_y, data.class_names
    )
    return {
        "labels": labels,
        "seed": seed,
        "semi": semi,
        "dice": float(report["dice"]),
        "accepted": result.unlabeled_accepted,
        "unlabeled": result.unlabeled_count,
        "epochs": len(result.history),
        "seconds": time.monotonic() - started,
    }


def paired(gains: list[float]) -> tuple[float, float, float, float]:
    """Mean gain, its 95 % Student-t interval and the paired t-test's two-sided p."""
    from scipy import stats

    values = np.asarray(gains, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2 or float(values.std(ddof=1)) == 0.0:
        return mean, mean, mean, float("nan")
    half = float(stats.t.ppf(0.975, len(values) - 1) * stats.sem(values))
    p = float(stats.ttest_1samp(values, 0.0).pvalue)
    return mean, mean - half, mean + half, p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--labels", default="20,40")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--val-size", type=int, default=100)
    parser.add_argument("--max-unlabeled", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=None, help="shorter runs (tests)")
    parser.add_argument(
        "--min-steps", type=int, default=SegSemiConfig().min_steps, help="the semi arm's floor"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    budgets = [int(b) for b in args.labels.split(",") if b]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    settings = settings_for(args.size, args.val_size, args.max_epochs)
    print(
        f"dataset {args.dataset.name}, {args.size} px, labels {budgets}, seeds {seeds}, "
        f"at most {args.max_unlabeled} unlabelled, "
        f"semi {SegSemiConfig(min_steps=args.min_steps).to_dict()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    jobs = [
        (b, s, semi, args.max_unlabeled, args.min_steps)
        for b in budgets
        for s in seeds
        for semi in (False, True)
    ]
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        args.workers, initializer=_init, initargs=(str(args.dataset), settings)
    ) as pool:
        rows = pool.map(run_one, jobs, chunksize=1)
    by_key = {(r["labels"], r["seed"], r["semi"]): r for r in rows}
    header = f"{'labels':>6} {'seed':>4} {'supervised':>10} {'semi':>7} {'gain':>7}"
    print(header + " accepted  s (sup/semi)")
    all_gains, sup_all, semi_all = [], [], []
    for b in budgets:
        gains = []
        for s in seeds:
            sup, semi = by_key[(b, s, False)], by_key[(b, s, True)]
            gains.append(semi["dice"] - sup["dice"])
            sup_all.append(sup["dice"])
            semi_all.append(semi["dice"])
            print(
                f"{b:>6} {s:>4} {sup['dice']:>10.4f} {semi['dice']:>7.4f} {gains[-1]:>+7.4f} "
                f"{semi['accepted'] or 0:>8.3f}  {sup['seconds']:.0f}/{semi['seconds']:.0f}"
            )
        mean, low, high, p = paired(gains)
        sup_mean = np.mean([by_key[(b, s, False)]["dice"] for s in seeds])
        semi_mean = np.mean([by_key[(b, s, True)]["dice"] for s in seeds])
        print(
            f"labels {b}: supervised {sup_mean:.4f}, semi {semi_mean:.4f}, gain {mean:+.4f} "
            f"(95% CI {low:+.4f}..{high:+.4f}, paired t p={p:.3f})",
            flush=True,
        )
        all_gains += gains
    mean, low, high, p = paired(all_gains)
    print(
        f"labels={','.join(map(str, budgets))} supervised_dice={np.mean(sup_all):.4f} "
        f"semi_dice={np.mean(semi_all):.4f} mean_gain={mean:+.4f} "
        f"gain_ci95={low:+.4f}..{high:+.4f} p={p:.3f} seeds={len(seeds)} "
        f"total_s={time.monotonic() - started:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
