"""The active-learning benchmark protocol shared by the segmentation and detection benches.

A task module (e.g. bench.detection_learning, imported by that name in the workers) provides:
- `init(dataset, settings)`: load its data in a worker process;
- `pool_size() -> int`;
- `train_and_measure(labeled, seed) -> (model, Round)`: train on those pool indices, measure;
- `initial_labels(arm, seed, count) -> indices` and
  `acquire(arm, seed, labeled, model, state, count) -> indices` (state: the last Round's `state`).

Protocol (as bench/active_learning.py): the full-data reference trains on the whole pool; the
target is 95 % of its metric. Random runs along a budget schedule that stops where its mean over
the seeds reaches the target; every other arm runs that schedule with the same initial random
labels per seed and round generators seeded by (seed, labelled count). Rounds run as soon as what
they depend on is known, one per worker (`_Rounds`; decision 0359), and an arm's round whose
labelled set is random's at that budget and seed reuses random's round (same training).
Reported per arm: labels_to_target, saving_vs_random, aubc (normalised area under the metric over
log(labels)), worst_gap_to_random, final_<metric>, and the task's extra series per budget; also
labels_to_target_interpolated and saving_interpolated_vs_random (where the mean curve crosses
the target between two budgets, `labels_to_target_interpolated`), beside the measured ones.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import multiprocessing
import os
import textwrap
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


def _pack(model: Any) -> bytes | None:
    """A round's model as bytes, to travel to the worker that runs the chain's next round."""
    if model is None:
        return None
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(model, buffer)
    return buffer.getvalue()


def _unpack(blob: bytes | None) -> Any:
    if blob is None:
        return None
    import io

    import torch

    return torch.load(io.BytesIO(blob), weights_only=False)


def random_labels(seed: int, budgets: list[int]) -> np.ndarray:
    """Random's labelled set at budgets[-1]: its picks do not depend on any model, so every budget
    of a seed is known without training the earlier ones (the rounds run in any order)."""
    labeled = _TASK.initial_labels("random", seed, budgets[0])
    for budget in budgets[1:]:
        if len(labeled) < budget:
            labeled = _TASK.acquire("random", seed, labeled, None, None, budget - len(labeled))
    return np.asarray(labeled)


def run_random_round(seed: int, budgets: list[int]) -> tuple[np.ndarray, Round, bytes | None]:
    """Random's round at budgets[-1] (one seed): labels, result and the model (as bytes)."""
    started = time.monotonic()
    labeled = random_labels(seed, budgets)
    model, result = _TASK.train_and_measure(labeled, seed)
    result.seconds = time.monotonic() - started
    return labeled, result, _pack(model)


def run_chain_round(
    arm: str,
    seed: int,
    budget: int,
    previous: tuple[np.ndarray, bytes | None, Any] | None,  # last round's labels, model, state
    random_round: tuple[np.ndarray, Round, bytes | None],  # random's round of this seed, budget
) -> tuple[np.ndarray, Round, bytes | None, bool]:
    """One round of an arm's chain: ask the arm's picks with the last round's model, train and
    measure. Where the labelled set is random's at this budget (the first random batch every arm
    but cold_start shares, and a budget-aware policy's random phase), random's round is the same
    training on the same labels with the same seed: its result and model are reused (last: True)."""
    started = time.monotonic()
    if previous is None:
        labeled = _TASK.initial_labels(arm, seed, budget)
    else:
        labeled, blob, state = previous
        if len(labeled) < budget:
            labeled = _TASK.acquire(arm, seed, labeled, _unpack(blob), state, budget - len(labeled))
    random_labeled, random_result, random_blob = random_round
    if np.array_equal(np.sort(labeled), np.sort(random_labeled)):
        return labeled, random_result, random_blob, True
    model, result = _TASK.train_and_measure(labeled, seed)
    result.seconds = time.monotonic() - started
    return labeled, result, _pack(model), False


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


def labels_to_target_interpolated(
    budgets: list[int], means: list[float], target: float
) -> float | None:
    """Where the mean curve first crosses `target`, interpolated linearly in log(labels) between
    the last budget below it and the first at or above it (the schedule's own axis, as AUBC's).

    The measured `labels_to_target` can only name a budget of the schedule: on the quick
    schedule (each budget twice the last) an arm that crosses the target anywhere between 40
    and 80 labels reads 80, so any saving under 50 % reads 0. This estimate resolves it, on
    the assumption that the curve is straight in log(labels) between two measured budgets
    (the labelling-efficiency estimate of Beck et al., DISTIL); it is reported beside the
    measured one, never instead of it."""
    for i, (b, m) in enumerate(zip(budgets, means, strict=True)):
        if m >= target:
            if i == 0:
                return float(b)
            b0, m0 = budgets[i - 1], means[i - 1]  # m0 < target <= m
            fraction = (target - m0) / (m - m0)
            return float(math.exp(math.log(b0) + fraction * (math.log(b) - math.log(b0))))
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
        # Wrapped: a long description would push the legend past the axes' left edge.
        label = textwrap.fill(f"{arm}: {bench.arm_help[arm]}", 60, subsequent_indent="  ")
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
    # Two lines: on one, a long metric name ran off the figure.
    ax.set_ylabel(f"test {bench.metric_label}\n(mean over seeds; band = min..max)")
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
        run = _Rounds(pool, workers, schedule(n, quick, budgets_fixed), seeds, arms, metric)
        run.references([s for s, k in zip(full_seeds, keys, strict=True) if cache.get(k) is None])
        full: list[Round] = []
        for seed, key in zip(full_seeds, keys, strict=True):
            fresh = run.reference(seed) if seed in run.fresh else None
            r = fresh or cache.get(key)
            assert r is not None
            if fresh is not None:
                cache.put(key, fresh)
            full.append(r)
            extra = "".join(f", {k} {v:.3f}" for k, v in r.extras.items())
            note = "" if fresh is not None else f" (cached in {cache.path})"
            print(f"full data, seed {seed}: test {metric} {r.value:.4f}{extra}, {r.seconds:.0f} s"
                  f"{note}", flush=True)  # fmt: skip
        full_value = float(np.mean([r.value for r in full]))
        target = 0.95 * full_value
        print(f"full-data {metric} {full_value:.4f}; target = 95% = {target:.4f}", flush=True)
        run.finish(target, started, limit)
    fresh_seeds = run.fresh
    budgets = run.budgets
    results = run.results

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
    l_random_interpolated = labels_to_target_interpolated(budgets, random_mean.tolist(), target)
    summary: dict[str, Any] = {
        "dataset": str(dataset),
        **summary_extra,
        f"full_data_{metric}": full_value,
        f"full_data_{metric}_per_seed": [r.value for r in full],
        "full_data_from_cache": [s not in fresh_seeds for s in full_seeds],
        **(full_extras(full) if full_extras else {}),
        f"target_{metric}": target,
        "seeds": seeds,
        "budgets": budgets,
        "quick": quick,
        "settings": settings.to_dict(),
        "workers": workers,
        "strategies": {},
    }
    print(f"\n{'strategy':23} {'labels→95%':>10} {'saving':>7} {'interpolated':>14} {'AUBC':>6} "
          f"{'worst gap':>9} {'final ' + metric:>10} {'s/round':>7}")  # fmt: skip
    for arm in arms:
        means = curves[arm].mean(axis=0)
        reach = labels_to_target(budgets, means.tolist(), target)
        saving = None if reach is None or l_random is None else 1 - reach / l_random
        reach_interpolated = labels_to_target_interpolated(budgets, means.tolist(), target)
        saving_interpolated = (
            None
            if reach_interpolated is None or l_random_interpolated is None
            else 1 - reach_interpolated / l_random_interpolated
        )
        rounds_of_arm = [r for s in seeds for r in results[(arm, s)]]
        entry = {
            "labels_to_target": reach,
            "saving_vs_random": saving,
            "labels_to_target_interpolated": reach_interpolated,
            "saving_interpolated_vs_random": saving_interpolated,
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
        interpolated_text = (
            "—"
            if reach_interpolated is None or saving_interpolated is None
            else f"{reach_interpolated:.0f} ({saving_interpolated:+.0%})"
        )
        print(f"{arm:23} {reach if reach is not None else '—':>10} {saving_text:>7} "
              f"{interpolated_text:>14} {entry['aubc']:6.4f} {entry['worst_gap_to_random']:+9.4f} "
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


class _Rounds:
    """Runs the protocol's rounds on the pool, at most one per worker at a time, as soon as what
    they depend on is known, instead of in waves (3 seeds on 2 workers left a worker idle half of
    each random budget, and 3 chains of an arm left one idle for a whole chain):

    - the full-data reference first (the target depends on it);
    - random's rounds, budget after budget (each seed's labels at any budget are known without
      training: random picks use no model); a budget only starts while no earlier budget of
      random has reached the target (or the time limit);
    - an arm's round at budget i once its round at i-1 is done and random's round of that seed at
      i is done (its labels may be the same, then it is reused) and random's mean is below the
      target at every budget before i (so no round past random's stop is ever started).

    Ready rounds start lowest budget first, random before the arms. The results are the ones the
    wave order gave: the same labels, seeds and models per round; only the order differs."""

    def __init__(
        self, pool: Any, workers: int, schedule: list[int], seeds: list[int], arms: list[str],
        metric: str,
    ) -> None:  # fmt: skip
        self.pool, self.workers, self.schedule = pool, max(1, workers), schedule
        self.seeds, self.metric = seeds, metric
        self.arms = [a for a in arms if a != "random"]
        self.fresh: list[int] = []
        self._references: dict[int, Any] = {}
        self._random: dict[tuple[int, int], tuple[np.ndarray, Round, bytes | None]] = {}
        self._chains: dict[tuple[str, int], list[tuple[np.ndarray, Round, bytes | None, Any]]] = {
            (a, s): [] for a in self.arms for s in seeds
        }
        self._running: dict[tuple[Any, ...], Any] = {}
        self._stop: int | None = None  # index of random's last budget, once known
        self._checked = 0  # random's budgets before this one are known below the target
        self.budgets: list[int] = []
        self.results: dict[tuple[str, int], list[Round]] = {}

    def references(self, seeds: list[int]) -> None:
        self.fresh = list(seeds)
        for seed in seeds:
            self._running[("reference", seed)] = self.pool.apply_async(run_full_reference, (seed,))

    def reference(self, seed: int) -> Round:
        """Wait for a reference round; random's first rounds run beside it meanwhile."""
        while seed not in self._references:
            self._start()
            self._collect()
        result: Round = self._references[seed]
        return result

    def _random_done(self, index: int) -> bool:
        return all((s, index) in self._random for s in self.seeds)

    def _ready(self) -> list[tuple[Any, ...]]:
        """Rounds that may start now, in start order."""
        last = len(self.schedule) - 1 if self._stop is None else self._stop
        # An arm's round at budget i once random's mean is known below the target before i.
        arms_up_to = self._checked if self._stop is None else self._stop
        ready: list[tuple[Any, ...]] = []
        key: tuple[Any, ...]
        for i in range(last + 1):
            for s in self.seeds:
                key = ("random", s, i)
                if (s, i) not in self._random and key not in self._running:
                    ready.append((i, 0, key))
            if i > arms_up_to:
                continue
            for a in self.arms:
                for s in self.seeds:
                    key = ("chain", a, s, i)
                    chain_ready = len(self._chains[(a, s)]) == i and (s, i) in self._random
                    if chain_ready and key not in self._running:
                        ready.append((i, 1, key))
        return [key for *_, key in sorted(ready)]

    def _start(self) -> None:
        for key in self._ready():
            if len(self._running) >= self.workers:
                return
            if key[0] == "random":
                _, s, i = key
                args: tuple[Any, ...] = (s, self.schedule[: i + 1])
                self._running[key] = self.pool.apply_async(run_random_round, args)
            else:
                _, a, s, i = key
                done = self._chains[(a, s)]
                previous = (done[-1][0], done[-1][2], done[-1][3]) if done else None
                args = (a, s, self.schedule[i], previous, self._random[(s, i)])
                self._running[key] = self.pool.apply_async(run_chain_round, args)

    def _collect(self) -> None:
        """Wait for at least one running round and file every finished one."""
        while True:
            finished = [k for k, r in self._running.items() if r.ready()]
            if finished:
                break
            next(iter(self._running.values())).wait(0.2)
        for key in finished:
            value = self._running.pop(key).get()
            if key[0] == "reference":
                self._references[key[1]] = value
            elif key[0] == "random":
                self._random[(key[1], key[2])] = value if self.arms else (*value[:2], None)
            else:
                _, a, s, i = key
                labeled, result, blob, reused = value
                chain = self._chains[(a, s)]
                if chain:  # only the last model of a chain is needed (the next acquisition)
                    chain[-1] = (*chain[-1][:2], None, chain[-1][3])
                chain.append((labeled, result, blob, result.state))
                if all(len(self._chains[(arm, s)]) > i for arm in self.arms):
                    labeled_r, result_r, _ = self._random[(s, i)]
                    self._random[(s, i)] = (labeled_r, result_r, None)  # no arm needs it now
                note = ", random's round reused" if reused else ""
                print(
                    f"  {a:22} seed {s} @ {self.schedule[i]:5d}: {self.metric} "
                    f"{result.value:.4f} ({result.seconds:.0f} s{note})",
                    flush=True,
                )

    def finish(self, target: float, started: float, limit: float) -> None:
        """Run random to the target (or the time limit or the pool) and every arm to that budget."""
        while True:
            while self._stop is None and self._random_done(self._checked):
                i = self._checked
                mean = float(np.mean([self._random[(s, i)][1].value for s in self.seeds]))
                print(f"random                 @ {self.schedule[i]:5d}: {self.metric} "
                      f"{mean:.4f}  [{time.monotonic() - started:.0f} s]", flush=True)  # fmt: skip
                if mean >= target or i == len(self.schedule) - 1:
                    self._stop = i
                elif time.monotonic() - started > limit:
                    print("time limit: random's schedule stops here (target not reached)",
                          flush=True)  # fmt: skip
                    self._stop = i
                else:
                    self._checked = i + 1
            if self._stop is not None and all(
                len(chain) > self._stop for chain in self._chains.values()
            ):
                break
            self._start()
            if not self._running:
                raise RuntimeError("the protocol has nothing to run and is not done")
            self._collect()
        for key in list(self._running):  # random's rounds past its stop: not reported
            self._running.pop(key).wait()
        stop = self._stop
        self.budgets = self.schedule[: stop + 1]
        for s in self.seeds:
            self.results[("random", s)] = [self._random[(s, i)][1] for i in range(stop + 1)]
        for (a, s), chain in self._chains.items():
            self.results[(a, s)] = [entry[1] for entry in chain[: stop + 1]]


def _pool_size() -> int:
    return int(_TASK.pool_size())
