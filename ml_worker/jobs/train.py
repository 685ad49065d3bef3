"""One training run, end to end: snapshot → arrays → train → calibrate → evaluate → register →
promote (or reject) → the follow-up run. The task in ml_worker.tasks claims the run and calls
`run_training`; every step here is a plain function over rows and arrays.

The run's life (claim, heartbeat, progress, cancel, failure) is the same for every task type;
`train_and_register` hands the project's task type (ml_worker.task_types) to its trainer:
classification here, segmentation and detection in ml_worker.jobs.seg_train.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from django.conf import settings

from annotations.models import Project
from learning.model_settings import augmentation_kwargs, semi_kwargs
from learning.models import ModelVersion, RunStatus, TrainingRun
from learning.services import registry, runs
from learning.services.checkpoint_files import run_checkpoint_path
from learning.services.project_model import model_settings_of
from learning.splits import TEST, TRAIN, VAL
from learning.training_config import validated_run_config
from ml_worker.augment import AugmentConfig
from ml_worker.checkpoint import ChecksumMismatch, load_model, save_model, sha256_file
from ml_worker.drift_calibration import DRIFT_CALIBRATION, calibrate_model, scaled_augmentation
from ml_worker.evaluation import evaluate
from ml_worker.inference import predict
from ml_worker.jobs.data import load_items_by_id, preprocess_config
from ml_worker.jobs.db_retry import with_db_retry
from ml_worker.jobs.heartbeat import Heartbeat
from ml_worker.jobs.shadow import ShadowSkipped, train_shadow_baseline
from ml_worker.jobs.snapshot import (
    NotTrainable,
    TrainingSet,
    build_training_set,
    task_of,
    unlabelled_pool_ids,
)
from ml_worker.models import ModelSpec, build_model, load_pretrained
from ml_worker.multilabel import evaluate_multilabel, fit_label_temperatures
from ml_worker.promotion import PromotionRule, decide_promotion
from ml_worker.training import SemiConfig, TrainConfig, TrainingCancelled, train_classifier

logger = logging.getLogger(__name__)

# The keys a segmentation run takes from a run's config (ml_worker.jobs.seg_train).
TRAIN_CONFIG_KEYS = (
    "max_epochs",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "patience",
    "min_samples_per_epoch",
    "seed",
)
# A run's keys that are the promotion rule's, not TrainConfig's (promotion_rule_for reads them).
PROMOTION_KEYS = ("promotion_metric", "promotion_tolerance")


def train_config_for(run: TrainingRun) -> TrainConfig:
    """Defaults (seeded by the run id), then LEARNING_TRAIN_DEFAULTS, then the project's model
    settings (augmentation, freezing), then the run's overrides.

    The settings' defaults pass the same check as a run's overrides: an unknown key or a value out
    of range fails the run with its reason instead of being dropped (decision 0380). A search's
    settings ("search") are the search's own (ml_worker.jobs.hparam_search).
    """
    defaults = validated_run_config(dict(settings.LEARNING_TRAIN_DEFAULTS))
    merged: dict[str, Any] = {"seed": run.pk, **defaults}
    merged.update(
        {k: v for k, v in run.config.items() if k not in PROMOTION_KEYS and k != "search"}
    )
    project_settings = model_settings_of(run.project)
    augment_kwargs = augmentation_kwargs(project_settings["augmentation"])
    augment = merged.pop("augment", augment_kwargs is not None)
    # A multiple of the project's ranges (a hyperparameter search samples it); 0 = no augmentation.
    strength = float(merged.pop("augment_strength", 1.0))
    freeze = project_settings["freeze"]
    semi = semi_kwargs(project_settings["semi_supervised"])
    config = TrainConfig(
        **merged,
        num_threads=settings.TRAINING_CPU_THREADS,
        freeze=freeze["mode"],
        freeze_epochs=int(freeze["epochs"]) if freeze["mode"] == "backbone_epochs" else 0,
        semi=None if semi is None else SemiConfig(**semi),
    )
    if not augment or strength <= 0:
        return replace(config, augment=None)
    return replace(
        config, augment=scaled_augmentation(AugmentConfig(**(augment_kwargs or {})), strength)
    )


def promotion_rule_for(run: TrainingRun, default_metric: str | None = None) -> PromotionRule:
    """The settings' rule (its metric replaced by the task's `default_metric` when given), then
    the run's overrides."""
    rule = dict(settings.LEARNING_PROMOTION_RULE)
    if default_metric is not None:
        rule["metric"] = default_metric
    if "promotion_metric" in run.config:
        rule["metric"] = run.config["promotion_metric"]
    if "promotion_tolerance" in run.config:
        rule["tolerance"] = run.config["promotion_tolerance"]
    return PromotionRule.from_dict(rule)


@dataclass(frozen=True)
class Arrays:
    images: np.ndarray
    labels: np.ndarray


def _arrays(project: Project, data: TrainingSet, split: str) -> Arrays:
    loaded = with_db_retry(
        load_items_by_id, project, data.item_ids[split], preprocess_config(project)
    )
    if loaded.item_ids != data.item_ids[split]:
        raise NotTrainable(f"some {split} items disappeared while the run was starting")
    if data.multi_label:
        targets = np.asarray(data.targets[split], dtype=np.float32)
        return Arrays(loaded.images, targets.reshape(len(targets), len(data.class_names)))
    return Arrays(loaded.images, np.asarray(data.labels[split], dtype=np.int64))


class ProgressReporter:
    """Turns each epoch report into the run's progress JSON (and a heartbeat)."""

    def __init__(self, run_id: int, attempt: int | None = None) -> None:
        self.run_id = run_id
        self.attempt = attempt
        self.history: list[dict[str, Any]] = []
        self.lost = False
        self.notes: list[str] = []  # written to the run's log when it succeeds
        self.sticky: dict[str, Any] = {}  # kept in every progress write (a search's trials)

    def phase(self, name: str, **extra: Any) -> None:
        last = self.history[-1] if self.history else {}
        progress = {
            "phase": name,
            "epoch": last.get("epoch", 0),
            "epochs": extra.pop("epochs", None),
            "history": self.history,
            "eta_s": extra.pop("eta_s", None),
            **self.sticky,
            **extra,
        }
        if not with_db_retry(runs.record_progress, self.run_id, progress, self.attempt):
            self.lost = True

    def on_epoch(self, report: Any) -> None:
        """An EpochReport (classification), SegEpochReport (validation Dice) or DetEpochReport
        (validation FROC)."""
        entry = {
            "epoch": report.epoch,
            "train_loss": report.train_loss,
            "val_loss": report.val_loss,
        }
        for key in ("val_auc", "val_accuracy", "val_dice", "val_froc"):
            if hasattr(report, key):
                entry[key] = getattr(report, key)
        self.history.append({**entry, "seconds": round(report.seconds, 3)})
        self.phase("training", epochs=report.epochs, eta_s=round(report.eta_s, 1))


def run_training(run_id: int, worker: str) -> str:
    """Claim and execute a queued run. Returns the run's final status (or "not-claimed")."""
    run = with_db_retry(runs.claim_run, run_id, worker)
    if run is None:
        return "not-claimed"
    # The project row is read here, through the retry, like every other short database call;
    # later `run.project` reads come from this cache.
    with_db_retry(lambda: run.project)
    # Every write below is conditional on this claim's attempt: if the stale-run check gave the
    # run to another worker, this one's writes match nothing and it stops (decision 0190).
    attempt = run.attempts
    reporter = ProgressReporter(run.pk, attempt)
    with Heartbeat(run.pk, settings.TRAINING_HEARTBEAT_INTERVAL_S, attempt) as beat:

        def should_stop() -> bool:
            return (
                reporter.lost
                or beat.lost.is_set()
                or with_db_retry(runs.should_stop, run.pk, attempt)
            )

        try:
            version = train_and_register(run, reporter, should_stop)
        except TrainingCancelled as exc:
            with_db_retry(
                runs.finish_run, run.pk, RunStatus.CANCELLED, log=str(exc), attempt=attempt
            )
            return RunStatus.CANCELLED
        except NotTrainable as exc:
            with_db_retry(
                runs.finish_run, run.pk, RunStatus.FAILED, error=str(exc), attempt=attempt
            )
            return RunStatus.FAILED
        except Exception as exc:
            # Any failure ends the run visibly and the previous model stays active; the
            # traceback goes to the run's error and to the worker log.
            logger.exception("training run %s failed", run.pk)
            detail = "".join(traceback.format_exception(exc))
            with_db_retry(
                runs.finish_run,
                run.pk,
                RunStatus.FAILED,
                error=f"{exc!r}\n\n{detail}",
                attempt=attempt,
            )
            return RunStatus.FAILED
    with_db_retry(
        runs.finish_run,
        run.pk,
        RunStatus.SUCCEEDED,
        model_version=version,
        log="\n".join(reporter.notes),
        attempt=attempt,
    )
    return RunStatus.SUCCEEDED


def _load_pretrained(project_id: int, model: Any) -> dict[str, Any] | None:
    """Start from the project's uploaded checkpoint, else from its newest self-supervised
    encoder of the same architecture (ml_worker.jobs.pretrain), if any; record what was
    transferred and the file's sha256.

    An admin's upload is an explicit choice, so it wins. A file whose tensors match nothing
    raises ValueError, and an encoder whose bytes differ from its registered sha256 raises
    ChecksumMismatch: the run fails with that reason and the active model stays, rather than
    silently training from something else."""
    from learning.services.pretrained import current_pretrained
    from learning.services.registry import current_pretrained_version

    weights = with_db_retry(current_pretrained, project_id)
    if weights is not None:
        report = load_pretrained(model, weights.path)
        return {
            "source": "upload",
            "id": weights.pk,
            "sha256": weights.sha256,
            "name": weights.original_name,
            **_transfer_counts(report),
        }
    encoder = with_db_retry(current_pretrained_version, project_id)
    if encoder is None or encoder.architecture != model.spec.architecture:
        return None
    if sha256_file(encoder.checkpoint_path) != encoder.checkpoint_sha256:
        raise ChecksumMismatch(
            f"pretrained encoder v{encoder.number}: {encoder.checkpoint_path} differs from "
            f"its registered sha256 {encoder.checkpoint_sha256}"
        )
    report = load_pretrained(model, encoder.checkpoint_path)
    return {
        "source": "pretrained_version",
        "id": encoder.pk,
        "version": encoder.number,
        "sha256": encoder.checkpoint_sha256,
        "name": f"self-supervised encoder v{encoder.number}",
        **_transfer_counts(report),
    }


def _transfer_counts(report: Any) -> dict[str, Any]:
    return {
        "loaded": len(report.loaded),
        "adapted": len(report.adapted),
        "skipped_shape": report.skipped_shape,
        "missing": len(report.missing),
    }


def train_and_register(
    run: TrainingRun, reporter: ProgressReporter, should_stop: Any
) -> ModelVersion:
    """Train the project's task type (a NotTrainable names a type without a loop)."""
    from ml_worker.jobs.hparam_search import search_and_register
    from ml_worker.jobs.seg_train import train_geometry_and_register

    if run.config.get("search"):
        return search_and_register(run, reporter, should_stop)
    trainers = {
        "classification": train_classifier_and_register,
        "segmentation": train_geometry_and_register,
        "detection": train_geometry_and_register,
    }
    return trainers[task_of(run.project).name](run, reporter, should_stop)


def new_classifier(
    project: Project, data: TrainingSet, train: Arrays
) -> tuple[Any, ModelSpec, dict[str, Any] | None]:
    """The project's network, standardised on the training split, from its uploaded weights if
    any: (model, spec, what was transferred)."""
    spec = ModelSpec(
        architecture=project.architecture,
        num_classes=len(data.class_names),
        in_channels=int(model_settings_of(project)["in_channels"]),
        input_size=project.input_size,
        input_mean=float(train.images.mean()),
        input_std=float(train.images.std()) or 1.0,
    )
    model = build_model(spec)
    return model, spec, _load_pretrained(project.pk, model)


def train_classifier_and_register(
    run: TrainingRun, reporter: ProgressReporter, should_stop: Any
) -> ModelVersion:
    project = run.project
    reporter.phase("loading data")
    data = with_db_retry(build_training_set, project)
    train, val, test = (_arrays(project, data, s) for s in (TRAIN, VAL, TEST))
    config = train_config_for(run)
    model, spec, transfer = new_classifier(project, data, train)
    if transfer is None and config.freeze != "none":
        # Freezing a randomly initialised backbone would train a head on noise features.
        reporter.notes.append("no uploaded weights: the backbone was trained, not frozen")
        config = replace(config, freeze="none", freeze_epochs=0)
    unlabeled_ids: list[int] = []
    unlabeled = None
    if config.semi is not None and data.multi_label:
        reporter.notes.append("semi-supervised training is single-label only: not used")
        config = replace(config, semi=None)
    elif config.semi is not None:
        reporter.phase("loading unlabelled pool")
        unlabeled_ids = with_db_retry(
            unlabelled_pool_ids, project, data, config.semi.max_unlabeled, run.pk
        )
        pool = with_db_retry(load_items_by_id, project, unlabeled_ids, preprocess_config(project))
        unlabeled_ids, unlabeled = pool.item_ids, pool.images
    reporter.phase("training", epochs=config.max_epochs)
    result = train_classifier(
        model,
        train.images,
        train.labels,
        val.images if len(val.labels) else None,
        val.labels if len(val.labels) else None,
        config,
        on_epoch=reporter.on_epoch,
        should_stop=should_stop,
        unlabeled_images=unlabeled,
    )
    if should_stop():
        raise TrainingCancelled(len(result.history))
    reporter.phase("evaluating", epochs=config.max_epochs)
    calibration = _calibrate(result.model, val, config, data.multi_label)
    test_metrics = _evaluate_on(result.model, test, data.class_names, calibration)

    active = with_db_retry(registry.active_version, project.pk)
    active_metrics = _active_on_same_test(active, test, data.class_names, data.multi_label)
    rule = promotion_rule_for(run)
    decision = decide_promotion(test_metrics, active_metrics, rule)

    reporter.phase("registering", epochs=config.max_epochs)
    if reporter.lost:  # requeued or failed behind our back: another attempt owns the run now
        raise TrainingCancelled(len(result.history))
    path = run_checkpoint_path(project.pk, run.pk)
    sha256 = save_model(
        path,
        result.model,  # type: ignore[arg-type]
        temperature=calibration.temperature,
        class_names=data.class_names,
        extra={
            "run": run.pk,
            "snapshot": data.snapshot.content_hash,
            **calibration.checkpoint_extra(),
        },
    )
    version = with_db_retry(
        registry.register_version,
        project,
        architecture=spec.architecture,
        config={
            "model": spec.to_dict(),
            "pretrained": transfer,
            "training": {
                **config.to_dict(),
                "augment": None if config.augment is None else asdict(config.augment),
            },
            "calibration": calibration.describe(),
            # What the run learnt from without labels (None: supervised only).
            "semi_supervised": None
            if config.semi is None
            else {
                **config.semi.to_dict(),
                "unlabeled_items": len(unlabeled_ids),
                "unlabeled_accepted": result.unlabeled_accepted,
                # Each class's share of the accepted pseudo-labels (decision 0425).
                "pseudo_label_shares": result.pseudo_label_shares,
            },
            "multi_label": data.multi_label,
            "preprocess": {
                "input_size": project.input_size,
                "window_center": project.window_center,
                "window_width": project.window_width,
            },
            "class_names": data.class_names,
            "promotion_rule": {"metric": rule.metric, "tolerance": rule.tolerance},
        },
        snapshot=data.snapshot,
        parent=active,
        metrics={
            "test": test_metrics,
            "split_sizes": {s: len(data.item_ids[s]) for s in (TRAIN, VAL, TEST)},
            "training": {
                "best_epoch": result.best_epoch,
                "epochs_run": len(result.history),
                "stopped_early": result.stopped_early,
                "device": result.device,
                "seconds": round(result.seconds, 3),
                "history": reporter.history,
            },
            "promotion": decision.to_dict(),
            "active_on_same_test": _summary(active_metrics),
        },
        checkpoint_path=str(path),
        checkpoint_sha256=sha256,
        labels_used=data.size,
    )
    if decision.promote:
        with_db_retry(registry.activate, version)
    else:
        with_db_retry(registry.reject, version)
    with_db_retry(version.refresh_from_db)
    if project.random_share > 0:
        reporter.phase("shadow baseline", epochs=config.max_epochs)
        start_from = None if transfer is None else (lambda m: _load_pretrained(project.pk, m))
        _shadow_stage(
            run, project, data, (train, val, test), config, spec, reporter, should_stop, start_from
        )
    return version


def _shadow_stage(
    run: TrainingRun,
    project: Project,
    data: TrainingSet,
    arrays: tuple[Arrays, Arrays, Arrays],
    config: TrainConfig,
    spec: ModelSpec,
    reporter: ProgressReporter,
    should_stop: Any,
    start_from: Any = None,
) -> None:
    """The shadow random baseline; the main version is already registered (and maybe serving),
    so nothing here may fail the run: a skip, a cancel or an error becomes a note in its log."""
    train, val, test = arrays
    try:
        shadow = train_shadow_baseline(
            run,
            project,
            data=data,
            train=train,
            val=val,
            test=test,
            config=config,
            spec=spec,
            should_stop=should_stop,
            start_from=start_from,
        )
    except ShadowSkipped as exc:
        reporter.notes.append(str(exc))
    except TrainingCancelled:
        reporter.notes.append("shadow random baseline cancelled; the new model was kept")
    except Exception as exc:
        logger.exception("run %s: shadow random baseline failed", run.pk)
        reporter.notes.append(f"shadow random baseline failed: {exc!r}")
    else:
        auc = shadow.metrics["test"].get("auc")
        reporter.notes.append(
            f"shadow random baseline v{shadow.number}: {shadow.metrics['split_sizes'][TRAIN]} "
            f"random training labels, test AUC {'n/a' if auc is None else f'{auc:.3f}'}"
        )


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature: one for a softmax model, one per label for a multi-label one."""

    temperature: float = 1.0
    label_temperatures: list[float] | None = None

    def checkpoint_extra(self) -> dict[str, Any]:
        if self.label_temperatures is None:
            return {}
        return {"multi_label": True, "label_temperatures": self.label_temperatures}

    def describe(self) -> dict[str, Any]:
        if self.label_temperatures is None:
            return DRIFT_CALIBRATION.to_dict()
        return {
            "method": "temperature per label on validation",
            "temperatures": self.label_temperatures,
        }


def _calibrate(model: Any, val: Arrays, config: TrainConfig, multi_label: bool) -> Calibration:
    if not multi_label:
        return Calibration(
            calibrate_model(model, val.images, val.labels, config.augment, DRIFT_CALIBRATION)
        )
    if len(val.labels) == 0:
        return Calibration(1.0, [1.0] * int(model.spec.num_classes))
    logits = predict(model, val.images, with_embeddings=False).logits
    return Calibration(1.0, fit_label_temperatures(logits, val.labels))


def _evaluate_on(
    model: Any, test: Arrays, class_names: list[str], calibration: Calibration
) -> dict[str, Any]:
    logits = predict(model, test.images, with_embeddings=False).logits
    if calibration.label_temperatures is not None:
        return evaluate_multilabel(
            logits, test.labels, class_names, temperatures=calibration.label_temperatures
        )
    return evaluate(logits, test.labels, class_names, temperature=calibration.temperature)


def _active_on_same_test(
    active: ModelVersion | None, test: Arrays, class_names: list[str], multi_label: bool = False
) -> dict[str, Any] | None:
    """The active model re-evaluated on today's locked test split, so both face the same items.

    The test split only grows (assigned items never move), so this is the stored comparison
    widened to the newest test labels. If the active checkpoint cannot be read, its stored
    metrics are the fallback.
    """
    if active is None:
        return None
    try:
        saved = load_model(active.checkpoint_path, active.checkpoint_sha256)
    except (OSError, ValueError, RuntimeError, KeyError):
        logger.warning(
            "active version %s: checkpoint unreadable; using its stored metrics", active.pk
        )
        stored: dict[str, Any] | None = active.metrics.get("test")
        return stored
    if saved.class_names and saved.class_names != class_names:
        return active.metrics.get("test")
    if bool(saved.extra.get("multi_label")) != multi_label:
        # The project switched between single- and multi-label: the models answer different
        # questions, so the stored figures are all there is to compare.
        return active.metrics.get("test")
    calibration = Calibration(saved.temperature, saved.extra.get("label_temperatures"))
    return _evaluate_on(saved.model, test, class_names, calibration)


def _summary(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    keys = ("n", "accuracy", "auc", "auc_ci", "ece_after", "brier_after")
    return {k: metrics[k] for k in keys if k in metrics}
