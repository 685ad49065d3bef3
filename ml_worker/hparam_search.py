"""A small hyperparameter search over the training recipe, sampled by Optuna (decision 0391).

Four knobs: learning rate and weight decay (log-uniform), epochs (integer) and the augmentation
strength (a multiple of the default augmentation ranges; 0 switches augmentation off). Each trial
is `objective(params)`: a normal training run scored on the validation split only; the test split
is never seen here (the caller retrains the best configuration and promotes it under the usual
rule on the locked test split).

Bounded twice: at most `trials` trials, and no trial starts after `time_budget_s`; a trial still
training when the budget runs out is stopped by its `should_stop` and recorded as "out of time".
Cancelling (the caller's `cancelled()`) ends the search at once with `TrainingCancelled`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import optuna

from ml_worker.calibration import softmax
from ml_worker.drift_calibration import scaled_augmentation
from ml_worker.evaluation import roc_auc
from ml_worker.inference import predict
from ml_worker.multilabel import macro_auc, sigmoid
from ml_worker.training import TrainConfig, TrainingCancelled

DEFAULT_SPACE: dict[str, tuple[float, float]] = {
    "learning_rate": (3e-4, 1e-2),
    "max_epochs": (5, 20),
    "weight_decay": (1e-6, 1e-2),
    "augment_strength": (0.0, 2.0),
}


@dataclass(frozen=True)
class SearchSpace:
    learning_rate: tuple[float, float] = DEFAULT_SPACE["learning_rate"]
    max_epochs: tuple[int, int] = (5, 20)
    weight_decay: tuple[float, float] = DEFAULT_SPACE["weight_decay"]
    augment_strength: tuple[float, float] = DEFAULT_SPACE["augment_strength"]

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float("learning_rate", *self.learning_rate, log=True),
            "max_epochs": trial.suggest_int("max_epochs", *self.max_epochs),
            "weight_decay": trial.suggest_float("weight_decay", *self.weight_decay, log=True),
            "augment_strength": trial.suggest_float("augment_strength", *self.augment_strength),
        }

    def to_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.__dict__.items()}


@dataclass
class TrialRecord:
    number: int
    params: dict[str, Any]
    state: str  # "complete" | "out of time" | "failed"
    val_auc: float | None = None
    seconds: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "params": self.params,
            "state": self.state,
            "val_auc": self.val_auc,
            "seconds": round(self.seconds, 2),
            "detail": self.detail,
        }


@dataclass
class SearchOutcome:
    trials: list[TrialRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def best(self) -> TrialRecord | None:
        scored = [t for t in self.trials if t.state == "complete" and t.val_auc is not None]
        return max(scored, key=lambda t: (t.val_auc, -t.number)) if scored else None


def trial_config(base: TrainConfig, params: dict[str, Any]) -> TrainConfig:
    """`base` with a trial's settings; the augmentation strength scales the project's ranges (0, or
    a base without augmentation, trains without), as ml_worker.jobs.train reads
    "augment_strength" from a run's config."""
    strength = float(params["augment_strength"])
    augment = None
    if base.augment is not None and strength > 0:
        augment = scaled_augmentation(base.augment, strength)
    return replace(
        base,
        learning_rate=float(params["learning_rate"]),
        max_epochs=int(params["max_epochs"]),
        weight_decay=float(params["weight_decay"]),
        augment=augment,
    )


def validation_auc(model: Any, images: np.ndarray, labels: np.ndarray) -> float:
    """A trial's score: AUC on the validation split (macro over labels for multi-label)."""
    logits = predict(model, images, with_embeddings=False).logits
    if labels.ndim == 2:
        return macro_auc(sigmoid(logits), labels)
    return roc_auc(softmax(logits), labels)


def run_search(
    objective: Callable[[dict[str, Any], Callable[[], bool]], float],
    *,
    trials: int,
    time_budget_s: float,
    seed: int = 0,
    space: SearchSpace | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    on_trial: Callable[[SearchOutcome], None] | None = None,
) -> SearchOutcome:
    """Run up to `trials` trials of `objective(params, should_stop) -> validation AUC`.

    `should_stop()` is what the objective passes to training: True once cancelled or out of time.
    A NaN score (validation without both classes) is recorded as a failed trial, never best.
    """
    if trials < 1 or time_budget_s <= 0:
        raise ValueError("a search needs at least one trial and a positive time budget")
    space = space or SearchSpace()
    started = time.monotonic()
    deadline = started + time_budget_s
    outcome = SearchOutcome()
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=3)
    )

    def stop_now() -> bool:
        if cancelled():
            return True
        return time.monotonic() > deadline

    for number in range(trials):
        if cancelled():
            raise TrainingCancelled(0)
        if time.monotonic() >= deadline:
            break
        trial = study.ask()
        params = space.sample(trial)
        trial_start = time.monotonic()
        record = TrialRecord(number=number, params=params, state="complete")
        try:
            value = float(objective(params, stop_now))
        except TrainingCancelled:
            if cancelled():
                raise
            record.state, record.detail = "out of time", "stopped at the time budget"
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            if math.isnan(value):
                record.state, record.detail = "failed", "validation AUC undefined"
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                record.val_auc = value
                study.tell(trial, value)
        record.seconds = time.monotonic() - trial_start
        outcome.trials.append(record)
        outcome.seconds = time.monotonic() - started
        if on_trial is not None:
            on_trial(outcome)
    outcome.seconds = time.monotonic() - started
    return outcome
