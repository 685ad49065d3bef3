"""The search loop (ml_worker.hparam_search) on a cheap objective: bounded by the trial count and
the time budget, cancellable, the best trial chosen by validation score; a trial's settings reach
the training config as the job's run config does."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from annotations.models import Project
from learning.models import TrainingRun
from ml_worker.hparam_search import SearchSpace, run_search, trial_config
from ml_worker.jobs.train import train_config_for
from ml_worker.training import TrainConfig, TrainingCancelled

PARAMS = {"learning_rate": 1e-3, "max_epochs": 7, "weight_decay": 1e-5, "augment_strength": 2.0}


def test_the_best_trial_is_the_one_with_the_highest_validation_score() -> None:
    # A smooth objective peaking at learning rate 3e-3: the sampler is seeded, so this is stable.
    def objective(params, stop):  # type: ignore[no-untyped-def]
        return 1.0 - abs(math.log10(params["learning_rate"]) - math.log10(3e-3))

    outcome = run_search(objective, trials=5, time_budget_s=60, seed=0)
    assert len(outcome.trials) == 5
    scores = [t.val_auc for t in outcome.trials]
    assert outcome.best is not None and outcome.best.val_auc == max(scores)
    space = SearchSpace()
    for t in outcome.trials:
        assert space.learning_rate[0] <= t.params["learning_rate"] <= space.learning_rate[1]
        assert space.max_epochs[0] <= t.params["max_epochs"] <= space.max_epochs[1]


def test_the_time_budget_stops_a_running_trial_and_starts_no_more() -> None:
    def objective(params, stop):  # type: ignore[no-untyped-def]
        while not stop():  # a trial that would train forever
            pass
        raise TrainingCancelled(1)

    outcome = run_search(objective, trials=10, time_budget_s=0.2, seed=0)
    assert [t.state for t in outcome.trials] == ["out of time"]
    assert outcome.best is None


def test_cancelling_ends_the_search() -> None:
    calls = []

    def objective(params, stop):  # type: ignore[no-untyped-def]
        calls.append(params)
        return 0.5

    with pytest.raises(TrainingCancelled):
        run_search(objective, trials=10, time_budget_s=60, cancelled=lambda: len(calls) >= 2)
    assert len(calls) == 2


def test_a_nan_score_is_a_failed_trial_never_the_best() -> None:
    outcome = run_search(lambda p, s: float("nan"), trials=2, time_budget_s=60)
    assert [t.state for t in outcome.trials] == ["failed", "failed"] and outcome.best is None


def test_a_trials_settings_train_as_the_same_run_config_would() -> None:
    base = TrainConfig()
    searched = trial_config(base, PARAMS)
    # A project with the default model settings (its augmentation ranges are TrainConfig's).
    run = TrainingRun(pk=1, project=Project(), config={**PARAMS})
    assert train_config_for(run) == replace(searched, seed=1)  # runs are seeded by their id
    assert searched.augment is not None and searched.augment.rotation_deg == pytest.approx(20.0)
    assert trial_config(base, {**PARAMS, "augment_strength": 0.0}).augment is None
    unaugmented = TrainingRun(pk=1, project=Project(), config={"augment_strength": 0})
    assert train_config_for(unaugmented).augment is None
