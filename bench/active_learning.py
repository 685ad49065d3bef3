"""Active-learning benchmark: does the product's strategy save doctors' labels against random?

Simulated doctors answer from a MedMNIST-format npz's labels. Every round runs the product's own
code: `ml_worker.training.train_classifier` (default small CNN, augmentation, class-weighted loss,
early stopping on the validation split), `ml_worker.inference.predict` (with MC dropout),
`ml_worker.drift_calibration` (temperature on val plus perturbed copies of it, decision 0333),
and the strategies in `ml_worker.strategies`.

Protocol (docs/learning.md, notes/active-learning.md §5):
- pool = the npz's train split (labels hidden until "asked"), val = early stopping + temperature,
  test = reporting only.
- The full-data reference trains on the whole pool; target = 98 % of its test AUC.
- Random runs first, over all seeds, along a budget schedule that stops at the first budget where
  its mean test AUC reaches the target (or at the whole pool), after at least MIN_BUDGETS
  budgets (`--quick`: the fixed QUICK_STEPS 20/50/150/400, decision 0424). Every strategy then
  runs the same
  schedule, with the same initial random labels per seed (paired), so each saving is measured.
  Each round's picks draw from a generator seeded by (seed, labelled count), the same for every
  arm, so a strategy that is random for now (budget_aware's early phase) picks what random picks.
- Reported per strategy: labels_to_target (first measured budget whose mean AUC >= target),
  saving_vs_random, aubc (normalised area under the AUC-vs-log(labels) curve), worst_gap_to_random
  (most negative mean AUC difference at any budget), final_auc, ece_after_calibration (at the
  final budget, on the test split; temperature fitted on val and its perturbed copies, decisions
  0333 and 0423; 15 equal-width bins of the top-label confidence, Guo et al. 2017), the same
  ECE on i.i.d. data (2-fold cross-fit on val), seconds per round, and the per-seed AUBC gains
  over random (paired: same seeds, same first labels, same round generators) with their mean,
  95 % t confidence interval, the two-sided paired t-test p-value and the one-sided Wilcoxon
  signed-rank p-value.
- Arms are `strategy[+modifier...]`, parsed as `strategy, *modifiers = arm.split("+")`: the
  strategy picks the labels, each modifier changes how every round trains (`semi`:
  bench/arm_semi.py, semi-supervised on the unlabelled pool). `summary.json` names the product's
  default arm (`default_strategy`).
- Reproducible: the run's machine-independent inputs (seeds, schedule, arms, recipe, library
  versions, the dataset's sha256) are printed first and stored under `inputs`; every random draw
  is seeded, torch runs single-threaded with deterministic algorithms, so two runs on one machine
  give identical figures (only the timings differ).

Multi-label files (labels of shape (N, L), ChestMNIST's layout) train the product's multi-label
model (one sigmoid per label, ml_worker.multilabel): AUC is the macro AUC over labels, each
label's AUC is reported too, the temperatures are fitted per label on val, and the arms are the
multi-label strategies (random, ml_entropy, ml_bald, diversity over ml_entropy). `--any-finding`
reduces such a file to the binary "any finding" task instead.

Usage: python bench/active_learning.py [--dataset PATH.npz] [--seeds 10] [--quick] [--out DIR]
       [--arms random,budget_aware,bald+semi]
"""

from __future__ import annotations

import os

# Passive OpenMP waiting: on a shared 2-core box, spinning threads of one job steal the cores the
# other thread needs (measured 3x slower steps under load; docs/learning.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import hashlib
import importlib
import json
import math
import multiprocessing
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
# bench/ itself must not be an import root: a bench/queue.py would shadow the stdlib `queue`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path[:0] = [str(REPO), str(REPO / "platform")]

from bench import arm_pretrain  # noqa: E402
from ml_worker.calibration import expected_calibration_error, softmax  # noqa: E402
from ml_worker.drift_calibration import (  # noqa: E402
    DriftCalibration,
    drift_logits,
    drift_temperature,
)
from ml_worker.embeddings import pca_embeddings  # noqa: E402
from ml_worker.evaluation import roc_auc  # noqa: E402
from ml_worker.inference import predict  # noqa: E402
from ml_worker.models import ModelSpec, build_model  # noqa: E402
from ml_worker.multilabel import (  # noqa: E402
    evaluate_multilabel,
    fit_label_temperatures,
    sigmoid,
)
from ml_worker.strategies import PoolData, get_strategy, ranking  # noqa: E402
from ml_worker.strategies.typiclust import typiclust_order  # noqa: E402
from ml_worker.task_types import task_type  # noqa: E402
from ml_worker.training import TrainConfig, train_classifier  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared/data/classification/pneumoniamnist/pneumoniamnist.npz"
ARMS = (
    "random",
    "entropy",
    "bald",
    "diversity",
    "cold_start",
    "budget_aware",
    "ml_entropy",
    "ml_bald",
    "typiclust",
)
# Any single-label arm may carry modifiers after "+": "+pretrain" (bench/arm_pretrain.py).
SINGLE_LABEL_ARMS = (*ARMS[:6], "typiclust")
MULTI_LABEL_ARMS = ("random", "ml_entropy", "ml_bald", "diversity")
ARM_HELP = {
    "random": "uniform random (baseline)",
    "entropy": "predictive entropy (= margin = least confidence for 2 classes)",
    "bald": "MC-dropout BALD, T passes",
    "diversity": "entropy top candidates, k-means clusters served round-robin",
    "cold_start": "typical+diverse first batch (PCA embeddings), then diversity",
    "budget_aware": "random until the val curve is flat beyond its wobble, then diversity + random",
    "ml_entropy": "mean binary entropy over the labels (multi-label)",
    "ml_bald": "MC-dropout BALD per label, averaged (multi-label)",
    "typiclust": "TypiClust: the most typical item of each uncovered k-means cluster",
}
# Arm modifiers (`strategy+modifier`): name -> the bench module that applies it. A modifier
# module may define `configure(TrainConfig) -> TrainConfig` (the round's training settings),
# `unlabeled_images(pool_images, labeled, seed) -> images` (extra images for the run) and
# `settings()` (recorded in the run's inputs). "pretrain" (bench/arm_pretrain.py) starts every
# training of the arm from the seed's self-supervised encoder of the pool; it needs the pool and
# the arm, so train_and_measure calls arm_pretrain.initialise itself.
MODIFIERS: dict[str, str] = {"semi": "bench.arm_semi", "pretrain": "bench.arm_pretrain"}
# The quick run (CI, < 15 minutes on 2 cores): the baseline, the product's default and the
# semi-supervised uncertainty arm; --arms brings the others back.
QUICK_ARMS = ("random", "budget_aware", "bald+semi")
DEFAULT_SEEDS, QUICK_SEEDS = 10, 2
# Random's schedule runs at least this many budgets even when it reaches the target sooner.
MIN_BUDGETS = 4
# Options of each arm's strategy beyond the batch size (the product's defaults otherwise).
ARM_OPTIONS: dict[str, dict[str, Any]] = {"diversity": {"candidates_factor": 4}}
ARM_OPTIONS["budget_aware"] = ARM_OPTIONS["diversity"]
BATCH_ARMS = ("diversity", "budget_aware")
# The product's default strategy for a single-label classification project.
DEFAULT_STRATEGY = task_type("classification").default_strategy


def split_arm(arm: str) -> tuple[str, tuple[str, ...]]:
    """`"bald+semi"` -> ("bald", ("semi",)): the strategy and its modifiers, in order."""
    strategy, *modifiers = arm.split("+")
    return strategy, tuple(modifiers)


def check_arms(arms: list[str], allowed: tuple[str, ...]) -> None:
    """Every arm's strategy allowed for this data, every modifier known, random present."""
    bad = [
        a for a in arms if split_arm(a)[0] not in allowed or set(split_arm(a)[1]) - set(MODIFIERS)
    ]
    if bad or "random" not in arms:
        raise SystemExit(
            f"--arms must include random; strategies {allowed}, modifiers {tuple(MODIFIERS)} "
            f"joined by '+'; got {arms}"
        )


def modifier_module(name: str) -> Any:
    return importlib.import_module(MODIFIERS[name])


def arm_help(arm: str) -> str:
    strategy, modifiers = split_arm(arm)
    return " + ".join([ARM_HELP[strategy], *(modifier_module(m).HELP for m in modifiers)])


MC_PASSES = 10


@dataclass
class Data:
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    class_names: list[str]
    task: str

    @property
    def multi_label(self) -> bool:
        """(N, L) 0/1 targets: one sigmoid per label (ml_worker.multilabel)."""
        return self.train_y.ndim == 2


def _images(array: np.ndarray, size: int | None) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) uint8 -> (N, C, S, S) float32 in [0, 1]."""
    x = array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else max(1.0, array.max()))
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    if size is not None and x.shape[-1] != size:
        import torch
        import torch.nn.functional as F

        x = F.interpolate(torch.from_numpy(x), size=(size, size), mode="area").numpy()
    return np.ascontiguousarray(x)


def load_npz(path: Path, max_size: int = 64, any_finding: bool = False) -> Data:
    """Any MedMNIST-format npz: {train,val,test}_{images,labels}. Multi-label label matrices
    (ChestMNIST) stay multi-label, or become a binary "any finding" task with `any_finding`;
    images larger than `max_size` are shrunk."""
    with np.load(path) as d:
        missing = [
            f"{s}_{k}"
            for s in ("train", "val", "test")
            for k in ("images", "labels")
            if f"{s}_{k}" not in d
        ]
        if missing:
            raise SystemExit(f"{path}: not a MedMNIST-format npz (missing {missing})")
        raw = {k: d[k] for k in d.files}
    side = raw["train_images"].shape[1]
    size = max_size if side > max_size else None
    labels = {
        s: raw[f"{s}_labels"].reshape(len(raw[f"{s}_labels"]), -1) for s in ("train", "val", "test")
    }
    if labels["train"].shape[1] > 1 and not any_finding:
        ys = {s: (v > 0).astype(np.float32) for s, v in labels.items()}
        count = labels["train"].shape[1]
        names, task = [f"label {i}" for i in range(count)], f"multi-label ({count} labels)"
    elif labels["train"].shape[1] > 1:
        ys = {s: (v.sum(axis=1) > 0).astype(np.int64) for s, v in labels.items()}
        names, task = ["no finding", "finding"], "multi-label -> binary any-finding"
    else:
        ys = {s: v[:, 0].astype(np.int64) for s, v in labels.items()}
        k = int(max(v.max() for v in ys.values())) + 1
        names = [f"class {i}" for i in range(k)]
        if path.name.startswith("pneumoniamnist"):
            names = ["normal", "pneumonia"]
        task = "binary" if k == 2 else f"{k}-class"
    return Data(
        train_x=_images(raw["train_images"], size),
        train_y=ys["train"],
        val_x=_images(raw["val_images"], size),
        val_y=ys["val"],
        test_x=_images(raw["test_images"], size),
        test_y=ys["test"],
        class_names=names,
        task=task,
    )


@dataclass
class Recipe:
    """The product's default model and training configuration, used in every round."""

    spec: ModelSpec
    train: TrainConfig


def default_recipe(data: Data) -> Recipe:
    """`ModelSpec()` and `TrainConfig()` defaults, fitted to the dataset's shape and statistics."""
    spec = replace(
        ModelSpec(),
        num_classes=len(data.class_names),
        in_channels=data.train_x.shape[1],
        input_size=data.train_x.shape[-1],
        input_mean=float(data.train_x.mean()),
        input_std=float(data.train_x.std()),
    )
    return Recipe(spec, replace(TrainConfig(), num_threads=1))


@dataclass
class RoundResult:
    labels: int
    auc: float
    ece_after: float  # on the official test split, temperature fitted on val
    ece_after_iid: float  # 2-fold cross-fit on val: T fitted on one half, ECE on the other
    temperature: float
    seconds: float
    minority_share: float  # multi-label: the rarest label's positive share
    label_aucs: list[float] | None = None  # multi-label: each label's test AUC
    val_auc: float = float("nan")  # the evidence budget_aware may read (never the test AUC)


def cross_fit_ece(val_logits: np.ndarray, val_y: np.ndarray, seed: int) -> float:
    """ECE on data from the training distribution: fit T on one half of val (with its perturbed
    copies, as the product does), measure the other half's clean images."""
    n = len(val_y)
    repeats = len(val_logits) // n  # rows: clean, then each perturbed copy of val, in order
    order = np.random.default_rng(seed).permutation(n)
    halves = order[: n // 2], order[n // 2 :]
    eces = []
    for fit, measure in (halves, halves[::-1]):
        rows = np.concatenate([fit + r * n for r in range(repeats)])
        t = drift_temperature(val_logits[rows], val_y[fit], DriftCalibration(seed=seed))
        eces.append(expected_calibration_error(softmax(val_logits[measure], t), val_y[measure]))
    return float(np.mean(eces))


# Worker-process state: the data is loaded once per process (initializer), never pickled per task.
_DATA: Data | None = None
_RECIPE: Recipe | None = None


def _init_worker(dataset: str, quick: bool, threads: int, any_finding: bool = False) -> None:
    import torch

    global _DATA, _RECIPE
    torch.set_num_threads(threads)
    # Identical figures on a rerun: deterministic kernels where torch has them.
    torch.use_deterministic_algorithms(True, warn_only=True)
    _DATA = prepare_data(Path(dataset), quick, any_finding)
    _RECIPE = default_recipe(_DATA)


def prepare_data(path: Path, quick: bool, any_finding: bool = False) -> Data:
    data = load_npz(path, any_finding=any_finding)
    if quick:  # CI: a 2,000-image pool (seeded) and a 300-image validation split
        pool = np.sort(
            np.random.default_rng(0).choice(
                len(data.train_y), size=min(2000, len(data.train_y)), replace=False
            )
        )
        data.train_x, data.train_y = data.train_x[pool], data.train_y[pool]
        keep = np.random.default_rng(0).choice(
            len(data.val_y), size=min(300, len(data.val_y)), replace=False
        )
        data.val_x, data.val_y = data.val_x[np.sort(keep)], data.val_y[np.sort(keep)]
    return data


def _ctx() -> tuple[Data, Recipe]:
    assert _DATA is not None and _RECIPE is not None, "worker not initialised"
    return _DATA, _RECIPE


def train_and_measure(
    labeled: np.ndarray, seed: int, arm: str = "random"
) -> tuple[Any, Any, RoundResult]:
    """Train the default model on the labelled pool items (changed by the arm's modifiers);
    measure it like a model version. Also returns the temperature (a float; per label, an array,
    for a multi-label model)."""
    data, recipe = _ctx()
    started = time.monotonic()
    model = build_model(recipe.spec, seed=seed)
    model = arm_pretrain.initialise(model, arm, data.train_x, seed)  # "+pretrain" arms
    config = replace(recipe.train, seed=seed)
    unlabeled = None
    for name in split_arm(arm)[1]:
        module = modifier_module(name)
        if hasattr(module, "configure"):
            config = module.configure(config)
        if hasattr(module, "unlabeled_images"):
            unlabeled = module.unlabeled_images(data.train_x, labeled, seed)
    result = train_classifier(
        model,
        data.train_x[labeled],
        data.train_y[labeled],
        data.val_x,
        data.val_y,
        config,
        unlabeled_images=unlabeled,
    )
    if data.multi_label:
        return _measure_multilabel(result.model, labeled, started)
    # The product's calibration: T fitted on val plus perturbed copies of it (decisions 0333,
    # 0423: MAP, clean and perturbed rows carrying half the likelihood each).
    calibration = DriftCalibration(seed=seed)
    val_logits = drift_logits(
        lambda x: predict(result.model, x, with_embeddings=False).logits,
        data.val_x,
        recipe.train.augment,
        calibration,
    )
    temperature = drift_temperature(val_logits, data.val_y, calibration)
    test = predict(result.model, data.test_x, temperature=temperature, with_embeddings=False)
    counts = np.bincount(data.train_y[labeled], minlength=len(data.class_names))
    val_probabilities = softmax(val_logits[: len(data.val_y)], temperature)
    return (
        result.model,
        temperature,
        RoundResult(
            labels=len(labeled),
            auc=roc_auc(test.probabilities, data.test_y),
            ece_after=expected_calibration_error(test.probabilities, data.test_y),
            ece_after_iid=cross_fit_ece(val_logits, data.val_y, seed),
            temperature=temperature,
            seconds=time.monotonic() - started,
            minority_share=float(counts.min() / counts.sum()),
            val_auc=roc_auc(val_probabilities, data.val_y),
        ),
    )


def _measure_multilabel(
    model: Any, labeled: np.ndarray, started: float
) -> tuple[Any, np.ndarray, RoundResult]:
    """A multi-label model measured as the product's job measures it: temperatures per label on
    val, macro AUC and per-label AUC and ECE on test (ml_worker.multilabel)."""
    data, _ = _ctx()
    val_logits = predict(model, data.val_x, with_embeddings=False).logits
    temperatures = np.asarray(fit_label_temperatures(val_logits, data.val_y))
    test_logits = predict(model, data.test_x, with_embeddings=False).logits
    metrics = evaluate_multilabel(
        test_logits, data.test_y, data.class_names, temperatures=list(temperatures)
    )
    per_label = [metrics["per_label"][n]["auc"] for n in data.class_names]
    return (
        model,
        temperatures,
        RoundResult(
            labels=len(labeled),
            auc=metrics["auc"] if metrics["auc"] is not None else float("nan"),
            ece_after=metrics["ece_after"],
            ece_after_iid=float("nan"),  # the cross-fit is single-label only
            temperature=float(temperatures.mean()),
            seconds=time.monotonic() - started,
            minority_share=float(data.train_y[labeled].mean(axis=0).min()),
            label_aucs=[float("nan") if a is None else float(a) for a in per_label],
        ),
    )


def initial_labels(data: Data, arm: str, seed: int, count: int) -> np.ndarray:
    """The first `count` labels: random (the same per seed for every arm: paired comparison), or
    typical+diverse by PCA embeddings for the cold-start arm."""
    n = len(data.train_y)
    if arm_pretrain.parse(arm)[0] == "typiclust":
        x = arm_pretrain.embeddings(arm, data.train_x, _ctx()[1].spec, seed)
        return np.sort(typiclust_order(x, None, count, np.random.default_rng(seed))[:count])
    if split_arm(arm)[0] == "cold_start":
        pca = pca_embeddings(data.train_x, dim=32, seed=seed)
        strategy = get_strategy("cold_start", batch_size=count)
        scores = strategy.score(PoolData(embeddings=pca), np.random.default_rng(seed))
        return np.sort(ranking(scores)[:count])
    return np.sort(np.random.default_rng(1000 + seed).choice(n, size=count, replace=False))


def acquire(
    arm: str,
    seed: int,
    labeled: np.ndarray,
    model: Any,
    temperature: Any,
    count: int,
    curve: tuple[list[int], list[float]] = ([], []),
) -> np.ndarray:
    """Ask `count` more simulated doctors, chosen by the arm's strategy from the current model.
    `curve`: the chain's learning curve so far (labels, validation AUC), budget_aware's
    evidence, as the scoring job passes the project's versions' curve."""
    data, _ = _ctx()
    unlabeled = np.setdiff1d(np.arange(len(data.train_y)), labeled)
    count = min(count, len(unlabeled))
    rng = np.random.default_rng(10_000 * seed + len(labeled))
    strategy, _ = arm_pretrain.parse(arm)
    if strategy == "random":
        # The product's random strategy, with the generator every arm gets at this round: an
        # arm whose rule is "random" for now (budget_aware's early phase) picks the same items,
        # so the comparison is paired (common random numbers) instead of two random draws.
        k = len(data.class_names)
        uniform = PoolData(probabilities=np.full((len(unlabeled), k), 1.0 / k))
        chosen = unlabeled[ranking(get_strategy("random").score(uniform, rng))[:count]]
    else:
        name = "diversity" if strategy == "cold_start" else strategy
        multi = data.multi_label
        pool = predict(
            model,
            data.train_x[unlabeled],
            temperature=1.0 if multi else temperature,
            mc_passes=MC_PASSES if name in ("bald", "ml_bald") else 0,
            seed=seed,
            with_embeddings=name in BATCH_ARMS,
        )
        options: dict[str, Any] = (
            {"batch_size": count, **ARM_OPTIONS.get(name, {})} if name in BATCH_ARMS else {}
        )
        if name == "budget_aware":
            options["curve_labels"], options["curve_aucs"] = curve
        probabilities, mc = pool.probabilities, pool.mc_probabilities
        if multi:  # independent calibrated sigmoids, as the product's scoring job reads them
            probabilities = sigmoid(pool.logits, temperature)
            mc = None if pool.mc_logits is None else sigmoid(pool.mc_logits, temperature)
            counts = data.train_y[labeled].sum(axis=0).astype(np.int64)
            if name == "diversity":
                options["base"] = "ml_entropy"
        else:
            counts = np.bincount(data.train_y[labeled], minlength=len(data.class_names))
        embeddings, labelled_embeddings = pool.embeddings, None
        if name == "typiclust":  # the arm's fixed pool embeddings (bench/arm_pretrain.py)
            x = arm_pretrain.embeddings(arm, data.train_x, _ctx()[1].spec, seed)
            embeddings, labelled_embeddings = x[unlabeled], x[labeled]
            options = {"batch_size": count}
        scores = get_strategy(name, **options).score(
            PoolData(probabilities, embeddings, mc, labelled_embeddings, labeled_counts=counts),
            rng,
        )
        chosen = unlabeled[ranking(scores)[:count]]
    return np.sort(np.concatenate([labeled, chosen]))


def run_chain(arm: str, seed: int, budgets: list[int]) -> tuple[list[RoundResult], np.ndarray]:
    """One strategy, one seed, along the whole schedule (worker task); also its final labelled
    set (pool indices)."""
    data, _ = _ctx()
    labeled = initial_labels(data, arm, seed, budgets[0])
    results: list[RoundResult] = []
    model, temperature = None, 1.0
    for budget in budgets:
        started = time.monotonic()
        if len(labeled) < budget:
            curve = ([r.labels for r in results], [r.val_auc for r in results])
            labeled = acquire(arm, seed, labeled, model, temperature, budget - len(labeled), curve)
        model, temperature, result = train_and_measure(labeled, seed, arm)
        result.seconds = time.monotonic() - started  # acquisition (scoring) + training + measuring
        results.append(result)
        print(
            f"  {arm:14} seed {seed} @ {budget:5d}: AUC {result.auc:.4f} ({result.seconds:.0f} s)",
            flush=True,
        )
    return results, labeled


def pretrain_seed(seed: int) -> float:
    data, recipe = _ctx()
    return arm_pretrain.pretrain_seed(data.train_x, recipe.spec, seed)


def run_random_round(
    seed: int, budget: int, previous: np.ndarray | None
) -> tuple[np.ndarray, RoundResult]:
    """The random arm, one budget at a time (its schedule is open-ended until it hits target)."""
    data, _ = _ctx()
    started = time.monotonic()
    if previous is None:
        labeled = initial_labels(data, "random", seed, budget)
    else:
        labeled = acquire("random", seed, previous, None, 1.0, budget - len(previous))
    _, _, result = train_and_measure(labeled, seed)
    result.seconds = time.monotonic() - started
    return labeled, result


def run_full_reference(seed: int) -> RoundResult:
    data, _ = _ctx()
    return train_and_measure(np.arange(len(data.train_y)), seed)[2]


# The quick run's budgets (decision 0424): MIN_BUDGETS of them, ~2.5x apart, and no further, so
# its CPU time is bounded (the semi arm's rounds cost ~5x a supervised one): 13 CPU minutes on
# 2 cores. It ends at 400 labels whether or not random has reached the target there.
QUICK_STEPS = (20, 50, 150, 400)
FULL_STEPS = (20, 30, 45, 65, 100, 140, 200, 280, 400, 560, 800, 1120, 1600, 2240, 3140)


def schedule(pool_size: int, quick: bool) -> list[int]:
    """Budgets growing by ~1.4x up to the whole pool; quick: QUICK_STEPS, capped by the pool."""
    if quick:
        tail = [pool_size] if pool_size <= QUICK_STEPS[-1] else []
        return [b for b in QUICK_STEPS if b < pool_size] + tail
    return [b for b in FULL_STEPS if b < pool_size] + [pool_size]


def aubc(budgets: list[int], aucs: list[float]) -> float:
    """Normalised area under the AUC-vs-log(labels) curve (1.0 = AUC 1 at every budget)."""
    if len(budgets) < 2:
        return float(aucs[0]) if aucs else float("nan")
    x = np.log(np.asarray(budgets, dtype=np.float64))
    y = np.asarray(aucs, dtype=np.float64)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def paired_aubc_test(
    budgets: list[int], arm_aucs: np.ndarray, random_aucs: np.ndarray
) -> tuple[list[float], float | None]:
    """Per-seed AUBC gain over random (the seeds are paired: same initial labels, same round
    generators) and the one-sided Wilcoxon signed-rank p-value for "the arm's AUBC is higher"
    (notes/active-learning.md §5). None when every difference is zero (nothing to test)."""
    from scipy.stats import wilcoxon

    gains = [
        aubc(budgets, list(a)) - aubc(budgets, list(r))
        for a, r in zip(arm_aucs, random_aucs, strict=True)
    ]
    if not any(abs(g) > 1e-12 for g in gains):
        return gains, None
    return gains, float(wilcoxon(gains, alternative="greater", zero_method="zsplit").pvalue)


def gain_statistics(gains: list[float]) -> dict[str, Any]:
    """Mean paired AUBC gain, its 95 % confidence interval (Student t over the seeds) and the
    two-sided paired t-test p-value (H0: mean gain 0). Paired t rather than Wilcoxon for the
    headline: with few seeds Wilcoxon cannot go below p = 2^-n (0.25 at 2 seeds), and the t
    interval is what the CI reports; the one-sided Wilcoxon stays in `aubc_gain_p_value`.
    None where undefined (one seed, or every gain equal)."""
    from scipy import stats

    values = np.asarray(gains, dtype=np.float64)
    mean = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2 or float(values.std(ddof=1)) == 0.0:
        return {"aubc_gain_mean": mean, "aubc_gain_ci95": None, "aubc_gain_t_p_value": None}
    sem = float(values.std(ddof=1) / np.sqrt(len(values)))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * sem
    p = float(stats.ttest_1samp(values, 0.0).pvalue)
    return {
        "aubc_gain_mean": mean,
        "aubc_gain_ci95": [mean - half, mean + half],
        "aubc_gain_t_p_value": p,
    }


def mean_ci95(values: np.ndarray) -> list[float] | None:
    """95 % Student-t interval of the mean over seeds (None with one seed)."""
    from scipy import stats

    if len(values) < 2:
        return None
    mean = float(np.mean(values))
    half = float(
        stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    )
    return [mean - half, mean + half]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_inputs(
    dataset: Path, seeds: list[int], arms: list[str], schedule_: list[int], args: Any, data: Data
) -> dict[str, Any]:
    """Everything a figure depends on that does not depend on the machine: printed first and
    stored in summary.json, so a run can be repeated exactly (timings aside)."""
    import scipy
    import sklearn
    import torch

    recipe = default_recipe(data)
    return {
        "dataset_name": dataset.name,
        "dataset_sha256": file_sha256(dataset),
        "seeds": seeds,
        "arms": arms,
        "default_strategy": DEFAULT_STRATEGY,
        "schedule": schedule_,
        "quick": bool(args.quick),
        "any_finding": bool(args.any_finding),
        "time_limit_s": args.time_limit_s,
        "model": recipe.spec.to_dict(),
        "training": {k: v for k, v in recipe.train.to_dict().items() if k != "augment"},
        "mc_passes": MC_PASSES,
        "modifiers": {
            m: modifier_module(m).settings().to_dict()
            for m in sorted({m for a in arms for m in split_arm(a)[1]})
            if hasattr(modifier_module(m), "settings")
        },
        "torch_threads": 1,
        "deterministic_algorithms": True,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
    }


def labels_to_target(budgets: list[int], means: list[float], target: float) -> int | None:
    for b, m in zip(budgets, means, strict=True):
        if m >= target:
            return b
    return None


def plot(
    out: Path,
    budgets: dict[str, list[int]],
    curves: dict[str, np.ndarray],
    target: float,
    title: str,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for arm, aucs in curves.items():  # aucs: (seeds, budgets)
        mean, lo, hi = aucs.mean(axis=0), aucs.min(axis=0), aucs.max(axis=0)
        x = budgets[arm]
        (line,) = ax.plot(x, mean, marker="o", ms=3, label=f"{arm}: {arm_help(arm)}")
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15)
    ax.axhline(target, color="black", ls="--", lw=1, label=f"98% of full-data AUC ({target:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("labels (simulated doctors' answers)")
    ax.set_ylabel("test ROC AUC (mean over seeds; band = min..max)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = out / "active_learning.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def _mean_label_aucs(rounds: list[RoundResult], names: list[str]) -> dict[str, float]:
    """Each label's test AUC, averaged over the seeds' rounds (NaN where undefined)."""
    table = np.asarray([r.label_aucs for r in rounds], dtype=np.float64)
    return {n: float(np.nanmean(table[:, i])) for i, n in enumerate(names)}


def replay_random_labels(seed: int, budgets: list[int]) -> np.ndarray:
    """The random arm's labelled set after `budgets` (its picks never depend on a model)."""
    data, _ = _ctx()
    labeled = initial_labels(data, "random", seed, budgets[0])
    for budget in budgets[1:]:
        labeled = acquire("random", seed, labeled, None, 1.0, budget - len(labeled))
    return labeled


def extend_random(args: argparse.Namespace) -> int:
    """Continue a finished run's random arm until it reaches target (--extend-random-from)."""
    summary = json.loads(args.extend_random_from.read_text())
    seeds, budgets = summary["seeds"], summary["budgets"]
    target = summary["target_auc"]
    random_entry = summary["strategies"]["random"]
    aucs = [list(row) for row in random_entry["auc_per_seed"]]
    random_budgets = list(summary.get("random_budgets", budgets))
    any_finding = bool(summary.get("any_finding", False))
    data = prepare_data(Path(summary["dataset"]), summary["quick"], any_finding)
    later = [b for b in schedule(len(data.train_y), summary["quick"]) if b > random_budgets[-1]]
    context = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with context.Pool(
        args.workers,
        initializer=_init_worker,
        initargs=(summary["dataset"], summary["quick"], 1, any_finding),
    ) as pool:
        for budget in later:
            if float(np.mean([row[-1] for row in aucs])) >= target:
                break
            previous = pool.starmap(replay_random_labels, [(s, random_budgets) for s in seeds])
            out = pool.starmap(
                run_random_round, [(s, budget, p) for s, p in zip(seeds, previous, strict=True)]
            )
            for row, (_, result) in zip(aucs, out, strict=True):
                row.append(result.auc)
            random_budgets.append(budget)
            mean = float(np.mean([r.auc for _, r in out]))
            print(
                f"random     @ {budget:5d}: AUC {mean:.4f}  [{time.monotonic() - started:.0f} s]",
                flush=True,
            )
    means = np.asarray(aucs).mean(axis=0)
    l_random = labels_to_target(random_budgets, means.tolist(), target)
    summary["random_budgets"] = random_budgets
    random_entry.update(
        {
            "labels_to_target": l_random,
            "auc_per_seed": aucs,
            "auc_mean": means.tolist(),
            "auc_std": np.asarray(aucs).std(axis=0).tolist(),
            "final_auc": float(means[-1]),
        }
    )
    for arm, entry in summary["strategies"].items():
        if arm == "random":
            entry["saving_vs_random"] = 0.0 if l_random is not None else None
            continue
        reach = entry["labels_to_target"]
        entry["saving_vs_random"] = (
            None if reach is None or l_random is None else 1 - reach / l_random
        )
    summary["extension_seconds"] = time.monotonic() - started
    out_dir = args.extend_random_from.parent
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    curves = {a: np.asarray(e["auc_per_seed"]) for a, e in summary["strategies"].items()}
    arm_budgets = {a: (random_budgets if a == "random" else budgets) for a in curves}
    title = f"{Path(summary['dataset']).name} ({summary['task']}), {len(seeds)} seeds"
    plot(out_dir, arm_budgets, curves, target, title)
    print(f"random reaches {target:.4f} at {l_random} labels (schedule {random_budgets})")
    for arm, entry in summary["strategies"].items():
        print(
            f"{arm:11} labels_to_target={entry['labels_to_target']} "
            f"saving_vs_random={entry['saving_vs_random']} aubc={entry['aubc']:.4f} "
            f"worst_gap={entry['worst_gap_to_random']:+.4f} final_auc={entry['final_auc']:.4f}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help=f"default {DEFAULT_SEEDS} ({QUICK_SEEDS} with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="CI mode, < 15 minutes on 2 cores")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "active_learning")
    parser.add_argument(
        "--arms",
        default=None,
        help=f"comma list of strategies {ARMS}, each optionally +{'/+'.join(MODIFIERS)}\n"
        f"(default: all single strategies; with --quick: {','.join(QUICK_ARMS)})",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (1 torch thread each)")
    parser.add_argument(
        "--any-finding",
        action="store_true",
        help="a multi-label file becomes the binary 'any finding' task (default: multi-label)",
    )
    parser.add_argument(
        "--time-limit-s", type=float, default=None, help="stop extending random's schedule after"
    )
    parser.add_argument(
        "--extend-random-from",
        type=Path,
        default=None,
        help="a summary.json whose random arm stopped short of the target: continue random\n"
        "(same seeds, replayed labelled sets) along the schedule until it reaches the target,\n"
        "then recompute labels_to_target and savings; other arms are not rerun",
    )
    args = parser.parse_args(argv)
    if args.extend_random_from is not None:
        return extend_random(args)

    seeds = list(
        range(
            args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else DEFAULT_SEEDS)
        )
    )
    limit = args.time_limit_s or math.inf
    started = time.monotonic()
    data = prepare_data(args.dataset, args.quick, args.any_finding)
    allowed = MULTI_LABEL_ARMS if data.multi_label else SINGLE_LABEL_ARMS
    default_arms = allowed if data.multi_label else (QUICK_ARMS if args.quick else ARMS[:6])
    arms = [a for a in (args.arms or ",".join(default_arms)).split(",") if a]
    check_arms(arms, allowed)
    n = len(data.train_y)
    inputs = run_inputs(args.dataset, seeds, arms, schedule(n, args.quick), args, data)
    print("inputs " + json.dumps(inputs, sort_keys=True), flush=True)
    print(
        f"dataset {args.dataset.name}: {data.task}, pool {n}, val {len(data.val_y)}, test "
        f"{len(data.test_y)}, image {tuple(data.train_x.shape[1:])}; seeds {seeds}; "
        f"{args.workers} worker processes x 1 thread; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        args.workers,
        initializer=_init_worker,
        initargs=(str(args.dataset), args.quick, 1, args.any_finding),
    ) as pool:
        # 1. Full-data reference (same recipe, whole pool labelled).
        full_seeds = seeds[: 1 if args.quick else min(3, len(seeds))]
        full = pool.map(run_full_reference, full_seeds)
        for seed, r in zip(full_seeds, full, strict=True):
            print(
                f"full data, seed {seed}: test AUC {r.auc:.4f}, ECE after T {r.ece_after:.4f} "
                f"(iid {r.ece_after_iid:.4f}), {r.seconds:.0f} s",
                flush=True,
            )
        full_auc = float(np.mean([r.auc for r in full]))
        target = 0.98 * full_auc
        print(f"full-data AUC {full_auc:.4f}; target = 98% = {target:.4f}", flush=True)

        # 2. Random, all seeds in lockstep, until its mean AUC reaches the target.
        budgets: list[int] = []
        labeled: dict[int, np.ndarray | None] = dict.fromkeys(seeds)
        random_results: dict[int, list[RoundResult]] = {s: [] for s in seeds}
        for budget in schedule(n, args.quick):
            out = pool.starmap(run_random_round, [(s, budget, labeled[s]) for s in seeds])
            for s, (lab, result) in zip(seeds, out, strict=True):
                labeled[s] = lab
                random_results[s].append(result)
            budgets.append(budget)
            mean = float(np.mean([r.auc for _, r in out]))
            print(
                f"random     @ {budget:5d}: AUC {mean:.4f}  [{time.monotonic() - started:.0f} s]",
                flush=True,
            )
            # At least MIN_BUDGETS budgets: a schedule that stops at the first budget compares
            # the arms on their common random first labels only (no acquisition at all).
            if mean >= target and len(budgets) >= MIN_BUDGETS:
                break
            if time.monotonic() - started > limit:
                print("time limit: random's schedule stops here (target not reached)", flush=True)
                break

        # 3. "+pretrain" arms: each seed's encoder pretrained once, on the pool's images.
        if any(arm_pretrain.pretrained(a) for a in arms):
            spent = pool.map(pretrain_seed, seeds)
            print(f"pretraining per seed: {[round(t) for t in spent]} s (0 = cached)", flush=True)

        # 4. Every other strategy along the same schedule, chains spread over the workers.
        jobs = [(arm, s) for arm in arms if arm != "random" for s in seeds]
        chains = pool.starmap(run_chain, [(arm, s, budgets) for arm, s in jobs])
    results = {("random", s): random_results[s] for s in seeds}
    results.update({job: rounds for job, (rounds, _) in zip(jobs, chains, strict=True)})
    final_sets = {f"random_seed{s}": labeled[s] for s in seeds}
    final_sets.update({f"{a}_seed{s}": lab for (a, s), (_, lab) in zip(jobs, chains, strict=True)})

    # 4. Figures.
    curves = {arm: np.array([[r.auc for r in results[(arm, s)]] for s in seeds]) for arm in arms}
    random_mean = curves["random"].mean(axis=0)
    l_random = labels_to_target(budgets, random_mean.tolist(), target)
    summary: dict[str, Any] = {
        "dataset": str(args.dataset),
        "task": data.task,
        "full_data_auc": full_auc,
        "full_data_auc_per_seed": [r.auc for r in full],
        "full_data_ece_after_calibration": float(np.mean([r.ece_after for r in full])),
        "full_data_ece_after_calibration_iid": float(np.mean([r.ece_after_iid for r in full])),
        "target_auc": target,
        "seeds": seeds,
        "budgets": budgets,
        "quick": args.quick,
        "any_finding": args.any_finding,
        "class_names": data.class_names,
        "model": default_recipe(data).spec.to_dict(),
        "training": {
            k: v for k, v in default_recipe(data).train.to_dict().items() if k != "augment"
        },
        "calibration": DriftCalibration().to_dict(),
        "mc_passes": MC_PASSES,
        "workers": args.workers,
        "default_strategy": DEFAULT_STRATEGY if DEFAULT_STRATEGY in arms else None,
        "statistics": {
            "aubc_gain": "per-seed AUBC(arm) - AUBC(random), seeds paired",
            "aubc_gain_ci95": "95% Student-t interval of the mean gain over seeds",
            "aubc_gain_t_p_value": "two-sided paired t-test (H0: mean gain 0)",
            "aubc_gain_p_value": "one-sided Wilcoxon signed-rank (H1: arm's AUBC higher)",
        },
        "inputs": inputs,
        "strategies": {},
    }
    width = max(11, *(len(a) for a in arms))
    header = (
        f"{'strategy':{width}} {'labels→98%':>10} {'saving':>7} {'AUBC':>6} {'AUBC 95% CI':>15} "
        f"{'gain':>7} {'gain 95% CI':>17} {'p(t)':>6} {'p(W>)':>6} {'worst gap':>9} "
        f"{'final AUC':>9} {'ECE test':>8} {'ECE iid':>7} {'s/round':>7} {'minority':>8}"
    )
    print("\n" + header + "\n" + "-" * len(header))

    def fmt(value: float | int | None, spec: str) -> str:
        return "—" if value is None else format(value, spec)

    for arm in arms:
        means = curves[arm].mean(axis=0)
        reach = labels_to_target(budgets, means.tolist(), target)
        saving = None if reach is None or l_random is None else 1 - reach / l_random
        final = [results[(arm, s)][-1] for s in seeds]
        rounds = [r for s in seeds for r in results[(arm, s)]]
        gains, p_value = paired_aubc_test(budgets, curves[arm], curves["random"])
        per_seed_aubc = np.asarray([aubc(budgets, list(row)) for row in curves[arm]])
        entry = {
            "labels_to_target": reach,
            "saving_vs_random": saving,
            "aubc": aubc(budgets, means.tolist()),
            "aubc_per_seed": per_seed_aubc.tolist(),
            "aubc_ci95": mean_ci95(per_seed_aubc),
            "aubc_gain_per_seed": gains,
            **gain_statistics(gains),
            "aubc_gain_p_value": p_value,
            "worst_gap_to_random": float((means - random_mean).min()),
            "final_auc": float(means[-1]),
            "ece_after_calibration": float(np.mean([r.ece_after for r in final])),
            "ece_after_calibration_iid": float(np.mean([r.ece_after_iid for r in final])),
            "seconds_per_round": float(np.mean([r.seconds for r in rounds])),
            "auc_mean": means.tolist(),
            "auc_std": curves[arm].std(axis=0).tolist(),
            "auc_per_seed": curves[arm].tolist(),
            "minority_share_final": float(np.mean([r.minority_share for r in final])),
            "description": arm_help(arm),
        }
        if data.multi_label:
            entry["final_label_auc"] = _mean_label_aucs(final, data.class_names)
        summary["strategies"][arm] = entry
        ci, gain_ci = entry["aubc_ci95"], entry["aubc_gain_ci95"]
        ci_text = "—" if ci is None else f"{ci[0]:.4f}..{ci[1]:.4f}"
        gain_ci_text = "—" if gain_ci is None else f"{gain_ci[0]:+.4f}..{gain_ci[1]:+.4f}"
        print(
            f"{arm:{width}} {fmt(reach, 'd'):>10} {fmt(saving, '+.0%'):>7} {entry['aubc']:6.4f} "
            f"{ci_text:>15} {entry['aubc_gain_mean']:+7.4f} {gain_ci_text:>17} "
            f"{fmt(entry['aubc_gain_t_p_value'], '.3f'):>6} {fmt(p_value, '.3f'):>6} "
            f"{entry['worst_gap_to_random']:+9.4f} {entry['final_auc']:9.4f} "
            f"{entry['ece_after_calibration']:8.3f} {entry['ece_after_calibration_iid']:7.3f} "
            f"{entry['seconds_per_round']:7.1f} {entry['minority_share_final']:8.2f}"
        )
    if data.multi_label:
        summary["full_data_label_auc"] = _mean_label_aucs(full, data.class_names)
        print("\nper-label test AUC (full data, then each arm at its final budget):")
        print(f"{'':11} " + " ".join(f"{n:>9}" for n in data.class_names))
        rows = [("full data", summary["full_data_label_auc"])]
        rows += [(a, summary["strategies"][a]["final_label_auc"]) for a in arms]
        for name, per_label in rows:
            print(f"{name:11} " + " ".join(f"{per_label[n]:9.4f}" for n in data.class_names))
    print("\nmean test AUC per budget, side by side with random:")
    print("labels " + " ".join(f"{a:>14}" for a in arms))
    for i, b in enumerate(budgets):
        print(f"{b:6d} " + " ".join(f"{curves[a][:, i].mean():14.4f}" for a in arms))
    summary["total_seconds"] = time.monotonic() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    # The final labelled sets (pool indices), so any arm's last model can be rebuilt exactly.
    np.savez_compressed(args.out / "labelled_sets.npz", **final_sets)  # type: ignore[arg-type]
    title = f"{args.dataset.name} ({data.task}), {len(seeds)} seeds"
    png = plot(args.out, dict.fromkeys(arms, budgets), curves, target, title)
    print(f"\nwrote {args.out / 'summary.json'}, {args.out / 'labelled_sets.npz'} and {png}")
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
    if summary["default_strategy"] is not None:
        d = summary["strategies"][summary["default_strategy"]]
        print(
            f"default={summary['default_strategy']} "
            f"default_worst_gap={d['worst_gap_to_random']:.4f} "
            f"default_aubc_gain={d['aubc_gain_mean']:+.4f} "
            f"default_p_t={fmt(d['aubc_gain_t_p_value'], '.3f')}"
        )
    print(
        f"full_data_auc={full_auc:.4f} target_auc={target:.4f} random_labels_to_target={l_random} "
        f"best={best} best_labels_to_target={b['labels_to_target']} best_saving={saving_text} "
        f"best_worst_gap={b['worst_gap_to_random']:.4f} best_ece={b['ece_after_calibration']:.4f} "
        f"total_s={summary['total_seconds']:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
