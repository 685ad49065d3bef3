"""A hyperparameter search as a training run (decision 0391): the run's config carries
{"search": {"trials", "time_budget_s", "max_epochs"}}. Its life is a training run's (claim,
heartbeat, cancel, failure, the Runs table); inside it:

1. each trial trains the project's network on the training split with sampled settings, exactly
   as a normal run would (ml_worker.training), and is scored by its AUC on the validation split;
   the trials and their scores go into the run's progress as they finish;
2. the best trial's settings (and its seed) are then trained once more as the run's normal
   training, which evaluates on the locked test split and is promoted under the usual rule.
"""

from __future__ import annotations

from typing import Any

from learning.models import ModelVersion, TrainingRun
from learning.services import registry
from learning.splits import TRAIN, VAL
from ml_worker.hparam_search import (
    SearchOutcome,
    SearchSpace,
    run_search,
    trial_config,
    validation_auc,
)
from ml_worker.jobs.db_retry import with_db_retry
from ml_worker.jobs.snapshot import NotTrainable, build_training_set, task_of
from ml_worker.jobs.train import (
    ProgressReporter,
    _arrays,
    new_classifier,
    train_classifier_and_register,
    train_config_for,
)
from ml_worker.training import TrainingCancelled, train_classifier


def search_and_register(
    run: TrainingRun, reporter: ProgressReporter, should_stop: Any
) -> ModelVersion:
    if task_of(run.project).name != "classification":
        raise NotTrainable("the hyperparameter search tunes classification projects only")
    settings = dict(run.config["search"])
    project = run.project
    reporter.phase("loading data")
    data = with_db_retry(build_training_set, project)
    train, val = (_arrays(project, data, s) for s in (TRAIN, VAL))
    if len(val.labels) == 0:
        raise NotTrainable("a search scores trials on the validation split, which is empty")
    base = train_config_for(run)
    space = SearchSpace(max_epochs=(min(5, settings["max_epochs"]), settings["max_epochs"]))

    def objective(params: dict[str, Any], stop: Any) -> float:
        config = trial_config(base, params)
        model, _, _ = new_classifier(project, data, train)
        result = train_classifier(
            model, train.images, train.labels, val.images, val.labels, config, should_stop=stop
        )
        return validation_auc(result.model, val.images, val.labels)

    def on_trial(outcome: SearchOutcome) -> None:
        reporter.sticky["search"] = _summary(outcome, settings, space)
        reporter.phase("searching", epochs=None)

    reporter.sticky["search"] = _summary(SearchOutcome(), settings, space)
    reporter.phase("searching", epochs=None)
    outcome = run_search(
        objective,
        trials=int(settings["trials"]),
        time_budget_s=float(settings["time_budget_s"]),
        seed=base.seed,
        space=space,
        cancelled=should_stop,
        on_trial=on_trial,
    )
    best = outcome.best
    if best is None:
        raise NotTrainable(
            f"none of the {len(outcome.trials)} trial(s) finished with a validation AUC within "
            f"the {settings['time_budget_s']} s budget; raise the budget or label more items"
        )
    if should_stop():
        raise TrainingCancelled(0)
    reporter.notes.append(
        f"search: {len(outcome.trials)} trial(s) in {outcome.seconds:.0f} s; best trial "
        f"{best.number} (validation AUC {best.val_auc:.4f}) retrained and tested"
    )
    version = train_classifier_and_register(
        _with_params(run, best.params, base.seed), reporter, should_stop
    )
    with_db_retry(registry.add_metrics, version.pk, "search", _summary(outcome, settings, space))
    with_db_retry(version.refresh_from_db)
    return version


def _with_params(run: TrainingRun, params: dict[str, Any], seed: int) -> TrainingRun:
    """The run with a trial's settings as its overrides (in memory only: never saved)."""
    trial = TrainingRun(pk=run.pk, project=run.project)
    trial.config = {k: v for k, v in run.config.items() if k != "search"}
    trial.config.update(params, seed=seed)
    return trial


def _summary(
    outcome: SearchOutcome, settings: dict[str, Any], space: SearchSpace
) -> dict[str, Any]:
    best = outcome.best
    return {
        "trials_requested": settings["trials"],
        "time_budget_s": settings["time_budget_s"],
        "space": space.to_dict(),
        "trials": [t.to_dict() for t in outcome.trials],
        "best_trial": None if best is None else best.number,
        "best_params": None if best is None else best.params,
        "best_val_auc": None if best is None or best.val_auc is None else best.val_auc,
        "seconds": round(outcome.seconds, 2),
    }
