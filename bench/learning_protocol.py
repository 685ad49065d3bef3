"""The active-learning benchmark protocol shared by the segmentation and detection benches.

A task module (e.g. bench.detection_learning, imported by that name in the workers) provides:
- `init(dataset, settings)`: load its data in a worker process;
- `pool_size() -> int`;
- `train_and_measure(labeled, seed) -> (model, Round)`: train on those pool indices, measure;
- `initial_labels(arm, seed, count) -> indices` and
  `acquire(arm, seed, labeled, model, state, count) -> indices` (state: the last Round's `state`).

Protocol (as bench/active_learning.py): the full-data reference trains on the whole pool; the
target is 95 % of its metric. Random runs first, all seeds in lockstep, along a budget schedule
that stops where its mean reaches the target; every other arm then runs that schedule with the
same initial random labels per seed and round generators seeded by (seed, labelled count).
Reported per arm: labels_to_target, saving_vs_random, aubc (normalised area under the metric over
log(labels)), worst_gap_to_random, final_<metric>, and the task's extra series per budget.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Round:
    labels: int
    value: float  # the task's metric (test Dice, test FROC)
    seconds: float
    extras: dict[str, float] = field(default_factory=dict)  # e.g. correction effort
    state: Any = None  # what the next acquisition needs from this round (a temperature)


@dataclass(frozen=True)
class Bench:
    """What the protocol prints and writes for one task."""

    module: str  # the task module's import name (bench/<module>.py)
    metric: str  # "dice", "froc"
    metric_label: str  # "Dice", "FROC (mean sensitivity at 0.5-4 FP/image)"
    arms: tuple[str, ...]
    arm_help: dict[str, str]
    plot_name: str
    extras: tuple[str, ...] = ()  # keys of Round.extras reported per budget
    extra_label: str = ""  # the extras plot's y label (first extra)


_TASK: Any = None


def reference_key(dataset: Path, settings: Any, seed: int) -> str:
    """The full-data reference depends only on the file, the settings and the seed."""
    stat = dataset.stat()
    # The budget schedule never reaches the reference (it trains on the whole pool): a run with
    # other --budgets reuses it.
    trained = {k: v for k, v in settings.to_dict().items() if k != "budgets"}
    text = json.dumps(
        [str(dataset.resolve()), stat.st_size, stat.st_mtime_ns, trained, seed],
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


class ReferenceCache:
    """Full-data reference rounds kept between runs (next to --out): the reference trains on the
    whole pool, the most expensive round of a run, and does not change while the dataset and the
    settings (the key) do not."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.entries: dict[str, dict[str, Any]] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def get(self, key: str) -> Round | None:
        entry = self.entries.get(key)
        return Round(**{**entry, "state": None}) if entry else None

    def put(self, key: str, result: Round) -> None:
        entry = asdict(result)
        entry["state"] = None  # a model-specific object (a temperature, a tensor): not kept
        self.entries[key] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=1))


def _init_worker(module: str, dataset: str, settings: Any, threads: int) -> None:
    import torch

    global _TASK
    torch.set_num_threads(threads)
    _TASK = importlib.import_module(module)
    _TASK.init(dataset, settings)


def images_at(array: np.ndarray, size: int) -> np.ndarray:
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


def first_labels(
    arm: str, seed: int, count: int, images: np.ndarray, score_pool: Callable[..., np.ndarray]
) -> np.ndarray:
    """The first labelled pool indices: typical-and-diverse for cold_start (the task's
    model-free `score_pool`), else seeded random, the same for every arm of a seed."""
    from ml_worker.strategies import ranking

    if arm == "cold_start":
        scores = score_pool(None, images, "cold_start", batch_size=count, seed=seed)
        return np.sort(ranking(scores)[:count])
    rng = np.random.default_rng(1000 + seed)
    return np.sort(rng.choice(len(images), size=count, replace=False))


def run_random_round(seed: int, budget: int, previous: np.ndarray | None) -> tuple[Any, Round]:
    started = time.monotonic()
    if previous is None:
        labeled = _TASK.initial_labels("random", seed, budget)
    else:
        labeled = _TASK.acquire("random", seed, previous, None, None, budget - len(previous))
    _, result = _TASK.train_and_measure(labeled, seed)
    result.seconds = time.monotonic() - started
    return labeled, result


def run_chain(arm: str, seed: int, budgets: list[int], metric: str) -> list[Round]:
    labeled = _TASK.initial_labels(arm, seed, budgets[0])
    results: list[Round] = []
    model, state = None, None
    for budget in budgets:
        started = time.monotonic()
        if len(labeled) < budget:
            labeled = _TASK.acquire(arm, seed, labeled, model, state, budget - len(labeled))
        model, result = _TASK.train_and_measure(labeled, seed)
        state = result.state
        result.seconds = time.monotonic() - started
        results.append(result)
        print(
            f"  {arm:22} seed {seed} @ {budget:5d}: {metric} {result.value:.4f} "
            f"({result.seconds:.0f} s)",
            flush=True,
        )
    return results


def run_full_reference(seed: int) -> Round:
    return _TASK.train_and_measure(np.arange(_TASK.pool_size()), seed)[1]


def schedule(pool_size: int, quick: bool, fixed: tuple[int, ...] | None) -> list[int]:
    if fixed:
        steps = list(fixed)
    elif quick:
        steps = [10, 20, 40, 80, 160, 320]
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
    bench: Bench,
    out: Path,
    budgets: list[int],
    curves: dict[str, np.ndarray],
    extras: dict[str, np.ndarray] | None,
    target: float,
    title: str,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if extras is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 5), dpi=110, squeeze=False)
    ax = axes[0][0]
    for arm, values in curves.items():
        x = budgets[: values.shape[1]]
        label = f"{arm}: {bench.arm_help[arm]}"
        (line,) = ax.plot(x, values.mean(axis=0), marker="o", ms=3, label=label)
        ax.fill_between(
            x, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.15
        )
        if extras is not None:
            axes[0][1].plot(
                x, np.nanmean(extras[arm], axis=0), marker="o", ms=3, color=line.get_color(),
                label=arm,
            )  # fmt: skip
    ax.axhline(target, color="black", ls="--", lw=1, label=f"95% of full data ({target:.3f})")
    for a in axes[0]:
        a.set_xscale("log")
        a.set_xlabel("labelled images (simulated doctors)")
        a.grid(True, which="both", alpha=0.3)
    ax.set_ylabel(f"test {bench.metric_label} (mean over seeds; band = min..max)")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    if extras is not None:
        axes[0][1].set_ylabel(bench.extra_label)
        axes[0][1].legend(fontsize=7)
    fig.tight_layout()
    path = out / bench.plot_name
    fig.savefig(path)
    plt.close(fig)
    return path


def run_protocol(
    bench: Bench,
    *,
    dataset: Path,
    settings: Any,
    seeds: list[int],
    arms: list[str],
    quick: bool,
    workers: int,
    out: Path,
    time_limit_s: float | None,
    budgets_fixed: tuple[int, ...] | None,
    header: str,
    title: str,
    summary_extra: dict[str, Any],
    full_extras: Callable[[list[Round]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run the protocol, print the table and the last line, write summary.json and the plot."""
    if set(arms) - set(bench.arms) or "random" not in arms:
        raise SystemExit(f"--arms must include random and only {bench.arms}; got {arms}")
    metric = bench.metric
    limit = time_limit_s or math.inf
    started = time.monotonic()
    print(
        f"{header}; seeds {seeds}; arms {arms}; {workers} workers x 1 thread; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        workers, initializer=_init_worker, initargs=(bench.module, str(dataset), settings, 1)
    ) as pool:
        n = pool.apply(_pool_size)
        full_seeds = seeds[: 1 if quick else min(3, len(seeds))]
        cache = ReferenceCache(
            out.parent / f"{bench.module.rsplit('.', 1)[-1]}_reference_cache.json"
        )
        keys = [reference_key(dataset, settings, s) for s in full_seeds]
        todo = [s for s, k in zip(full_seeds, keys, strict=True) if cache.get(k) is None]
        fresh = dict(zip(todo, pool.map(run_full_reference, todo), strict=True))
        full: list[Round] = []
        for seed, key in zip(full_seeds, keys, strict=True):
            cached = cache.get(key)
            r = fresh.get(seed, cached)
            assert r is not None
            if seed in fresh:
                cache.put(key, r)
            full.append(r)
            extra = "".join(f", {k} {v:.3f}" for k, v in r.extras.items())
            note = "" if seed in fresh else f" (cached in {cache.path})"
            print(f"full data, seed {seed}: test {metric} {r.value:.4f}{extra}, {r.seconds:.0f} s"
                  f"{note}", flush=True)  # fmt: skip
        full_value = float(np.mean([r.value for r in full]))
        target = 0.95 * full_value
        print(f"full-data {metric} {full_value:.4f}; target = 95% = {target:.4f}", flush=True)

        budgets: list[int] = []
        labeled: dict[int, Any] = dict.fromkeys(seeds)
        random_results: dict[int, list[Round]] = {s: [] for s in seeds}
        for budget in schedule(n, quick, budgets_fixed):
            rounds = pool.starmap(run_random_round, [(s, budget, labeled[s]) for s in seeds])
            for s, (lab, result) in zip(seeds, rounds, strict=True):
                labeled[s] = lab
                random_results[s].append(result)
            budgets.append(budget)
            mean = float(np.mean([r.value for _, r in rounds]))
            print(f"random                 @ {budget:5d}: {metric} {mean:.4f}  "
                  f"[{time.monotonic() - started:.0f} s]", flush=True)  # fmt: skip
            if mean >= target:
                break
            if time.monotonic() - started > limit:
                print("time limit: random's schedule stops here (target not reached)", flush=True)
                break
        jobs = [(arm, s) for arm in arms if arm != "random" for s in seeds]
        chains = pool.starmap(run_chain, [(arm, s, budgets, metric) for arm, s in jobs])
    results = {("random", s): random_results[s] for s in seeds}
    results.update(dict(zip(jobs, chains, strict=True)))

    curves = {a: np.array([[r.value for r in results[(a, s)]] for s in seeds]) for a in arms}
    extra_curves = {
        key: {
            a: np.array([[r.extras.get(key, np.nan) for r in results[(a, s)]] for s in seeds])
            for a in arms
        }
        for key in bench.extras
    }
    random_mean = curves["random"].mean(axis=0)
    l_random = labels_to_target(budgets, random_mean.tolist(), target)
    summary: dict[str, Any] = {
        "dataset": str(dataset),
        **summary_extra,
        f"full_data_{metric}": full_value,
        f"full_data_{metric}_per_seed": [r.value for r in full],
        "full_data_from_cache": [s not in fresh for s in full_seeds],
        **(full_extras(full) if full_extras else {}),
        f"target_{metric}": target,
        "seeds": seeds,
        "budgets": budgets,
        "quick": quick,
        "settings": settings.to_dict(),
        "workers": workers,
        "strategies": {},
    }
    print(f"\n{'strategy':23} {'labels→95%':>10} {'saving':>7} {'AUBC':>6} {'worst gap':>9} "
          f"{'final ' + metric:>10} {'s/round':>7}")  # fmt: skip
    for arm in arms:
        means = curves[arm].mean(axis=0)
        reach = labels_to_target(budgets, means.tolist(), target)
        saving = None if reach is None or l_random is None else 1 - reach / l_random
        rounds_of_arm = [r for s in seeds for r in results[(arm, s)]]
        entry = {
            "labels_to_target": reach,
            "saving_vs_random": saving,
            "aubc": aubc(budgets, means.tolist()),
            "worst_gap_to_random": float((means - random_mean).min()),
            f"final_{metric}": float(means[-1]),
            f"{metric}_mean": means.tolist(),
            f"{metric}_per_seed": curves[arm].tolist(),
            **{
                f"{key}_median": np.nanmean(extra_curves[key][arm], axis=0).tolist()
                for key in bench.extras
            },
            "seconds_per_round": float(np.mean([r.seconds for r in rounds_of_arm])),
            "description": bench.arm_help[arm],
        }
        summary["strategies"][arm] = entry
        saving_text = "—" if saving is None else f"{saving:+.0%}"
        print(f"{arm:23} {reach if reach is not None else '—':>10} {saving_text:>7} "
              f"{entry['aubc']:6.4f} {entry['worst_gap_to_random']:+9.4f} "
              f"{entry[f'final_{metric}']:10.4f} {entry['seconds_per_round']:7.1f}")  # fmt: skip
    print(f"\nmean test {metric} per budget:")
    print("labels " + " ".join(f"{a:>22}" for a in arms))
    for i, b in enumerate(budgets):
        print(f"{b:6d} " + " ".join(f"{curves[a][:, i].mean():22.4f}" for a in arms))
    summary["total_seconds"] = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    first_extra = extra_curves[bench.extras[0]] if bench.extras else None
    png = plot(bench, out, budgets, curves, first_extra, target, title)
    print(f"\nwrote {out / 'summary.json'} and {png}")
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
        f"full_data_{metric}={full_value:.4f} target_{metric}={target:.4f} "
        f"random_labels_to_target={l_random} "
        f"best={best} best_saving={saving_text} best_worst_gap={b['worst_gap_to_random']:.4f} "
        f"total_s={summary['total_seconds']:.0f}"
    )
    return summary


def _pool_size() -> int:
    return int(_TASK.pool_size())
