"""The shadow random-sampling baseline: what the same recipe learns from randomly chosen labels.

A project with `random_share > 0` serves that share of each doctor's queue uniformly at random
from the pool (annotations.services.queue marks those items `served_at_random`). After every
training run, a second model is trained with the run's exact recipe on the training-split
labels of those random picks only, and evaluated on the same locked test split (calibrated on
the same validation split). It is registered with status "shadow": never served, never scoring,
never promotable. The dashboard plots it beside the learning curve as the random-sampling
expectation: the main curve above it is what active learning bought.

Multi-label projects get one too: the same sigmoid-per-label recipe on the random picks' label
vectors ("no finding" = all zeros), one temperature per label fitted on validation, the same
per-label test report (`evaluate_multilabel`, macro AUC as the headline) as the main model.

x-axis: a shadow version's `labels_used` counts its random training labels plus the validation
and test labels both models share, the same way a main version counts all the labels it used.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from annotations.models import Item, Project
from learning.models import ModelVersion, TrainingRun
from learning.services import registry
from learning.services.checkpoint_files import run_checkpoint_path
from learning.splits import TEST, TRAIN, VAL
from ml_worker.checkpoint import save_model
from ml_worker.drift_calibration import DRIFT_CALIBRATION, calibrate_model
from ml_worker.evaluation import evaluate
from ml_worker.inference import predict
from ml_worker.models import ModelSpec, build_model
from ml_worker.multilabel import evaluate_multilabel, fit_label_temperatures
from ml_worker.training import TrainConfig, TrainingCancelled, train_classifier

logger = logging.getLogger(__name__)

RANDOM_SAMPLING = "random"
# Fewer random training labels than this teach nothing worth plotting.
MIN_RANDOM_TRAIN_LABELS = 10


class ShadowSkipped(Exception):
    """Why no shadow baseline was trained this time (logged on the run, never a failure)."""


def random_pick_mask(item_ids: list[int]) -> np.ndarray:
    """True where the item was served to a doctor by the queue's random stream."""
    random_ids = set(
        Item.objects.filter(pk__in=item_ids, served_at_random=True).values_list("pk", flat=True)
    )
    return np.array([pk in random_ids for pk in item_ids], dtype=bool)


def _check_enough(labels: np.ndarray, multi_label: bool) -> None:
    """ShadowSkipped unless the random picks can teach something: enough of them, and both
    answers present (two classes; for several labels, some label on and some off)."""
    if multi_label:
        values = np.unique(labels)
        if len(labels) < MIN_RANDOM_TRAIN_LABELS or len(values) < 2:
            raise ShadowSkipped(
                f"shadow random baseline skipped: {len(labels)} randomly served training labels "
                f"with {'no' if len(values) < 2 else 'both'} positive and negative answers; it "
                f"needs {MIN_RANDOM_TRAIN_LABELS} with both"
            )
        return
    classes = len(np.unique(labels))
    if len(labels) < MIN_RANDOM_TRAIN_LABELS or classes < 2:
        raise ShadowSkipped(
            f"shadow random baseline skipped: {len(labels)} randomly served training labels "
            f"of {classes} class(es); it needs {MIN_RANDOM_TRAIN_LABELS} of two"
        )


def train_shadow_baseline(
    run: TrainingRun,
    project: Project,
    *,
    data: Any,  # ml_worker.jobs.snapshot.TrainingSet
    train: Any,  # ml_worker.jobs.train.Arrays
    val: Any,
    test: Any,
    config: TrainConfig,
    spec: ModelSpec,
    should_stop: Any,
    start_from: Any = None,
) -> ModelVersion:
    """Train, calibrate, evaluate and register the shadow version; ShadowSkipped if it can't.

    `start_from(model)`, when given, loads the same uploaded weights the main model started from:
    the baseline differs from it only by how its labels were chosen."""
    multi_label = bool(getattr(data, "multi_label", False))
    mask = random_pick_mask(data.item_ids[TRAIN])
    images, labels = train.images[mask], train.labels[mask]
    _check_enough(labels, multi_label)
    model = build_model(spec)
    if start_from is not None:
        start_from(model)
    result = train_classifier(
        model,
        images,
        labels,
        val.images if len(val.labels) else None,
        val.labels if len(val.labels) else None,
        config,
        should_stop=should_stop,
    )
    if should_stop():
        raise TrainingCancelled(len(result.history))
    test_logits = predict(result.model, test.images, with_embeddings=False).logits
    extra: dict[str, Any] = {}
    calibration: dict[str, Any] = DRIFT_CALIBRATION.to_dict()
    temperature = 1.0
    if multi_label:
        # As the main model (ml_worker.jobs.train._calibrate): one temperature per label.
        temperatures = (
            fit_label_temperatures(
                predict(result.model, val.images, with_embeddings=False).logits, val.labels
            )
            if len(val.labels)
            else [1.0] * len(data.class_names)
        )
        metrics = evaluate_multilabel(
            test_logits, test.labels, data.class_names, temperatures=temperatures
        )
        extra = {"multi_label": True, "label_temperatures": temperatures}
        calibration = {
            "method": "temperature per label on validation",
            "temperatures": temperatures,
        }
    else:
        temperature = calibrate_model(
            result.model, val.images, val.labels, config.augment, DRIFT_CALIBRATION
        )
        metrics = evaluate(test_logits, test.labels, data.class_names, temperature=temperature)
    path = run_checkpoint_path(project.pk, run.pk, shadow=True)
    sha256 = save_model(
        path,
        result.model,  # type: ignore[arg-type]
        temperature=temperature,
        class_names=data.class_names,
        extra={
            "run": run.pk,
            "snapshot": data.snapshot.content_hash,
            "sampling": "random",
            **extra,
        },
    )
    sizes = {TRAIN: int(mask.sum()), VAL: len(val.labels), TEST: len(test.labels)}
    version = registry.register_version(
        project,
        architecture=spec.architecture,
        config={
            "model": spec.to_dict(),
            "sampling": RANDOM_SAMPLING,
            "training": {**config.to_dict(), "augment": config.augment is not None},
            "calibration": calibration,
            "multi_label": multi_label,
            "class_names": data.class_names,
            "shadow_of_run": run.pk,
        },
        snapshot=data.snapshot,
        parent=None,
        metrics={
            "test": metrics,
            "split_sizes": sizes,
            "training": {
                "best_epoch": result.best_epoch,
                "epochs_run": len(result.history),
                "device": result.device,
                "seconds": round(result.seconds, 3),
            },
        },
        checkpoint_path=str(path),
        checkpoint_sha256=sha256,
        labels_used=sum(sizes.values()),
    )
    registry.mark_shadow(version)
    version.refresh_from_db()
    return version
