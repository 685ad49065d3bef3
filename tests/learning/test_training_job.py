"""The training job on a small real project, in-process (no Celery): snapshot, locked patient
splits, training, calibration, evaluation on the test split, registry, promotion, checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations.models import Item
from learning.models import DatasetSnapshot, ModelStatus, ModelVersion, RunStatus, TrainingRun
from learning.splits import VAL
from ml_worker.checkpoint import load_model, sha256_file
from ml_worker.drift_calibration import DRIFT_CALIBRATION, calibrate_model
from ml_worker.jobs import train as train_module
from ml_worker.jobs.data import load_items_by_id, preprocess_config
from ml_worker.jobs.snapshot import build_training_set
from ml_worker.jobs.train import run_training, train_config_for
from tests.cast import label, make_project

pytestmark = pytest.mark.django_db

QUICK = {"max_epochs": 2, "min_samples_per_epoch": 64, "batch_size": 16}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    """The heartbeat thread has its own connection, which cannot see this test's uncommitted
    rows; test_heartbeat.py covers it on committed rows."""
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def train(project, **config) -> TrainingRun:  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK | config)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    return run


@pytest.fixture
def project(make_user):  # type: ignore[no-untyped-def]
    return make_project(admin=make_user("admin"), images=40, labelled=30)


def test_a_run_trains_evaluates_registers_and_promotes_the_first_model(project):  # type: ignore[no-untyped-def]
    run = train(project)

    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    assert version is not None and version.number == 1 and version.status == ModelStatus.ACTIVE
    assert version.labels_used == 30
    assert version.metrics["promotion"]["promote"] is True
    test = version.metrics["test"]
    assert test["n"] == version.metrics["split_sizes"]["test"] > 0
    for key in ("accuracy", "auc_ci", "confusion_matrix", "ece_before", "ece_after", "brier_after"):
        assert key in test
    assert Path(version.checkpoint_path).is_file()
    assert sha256_file(version.checkpoint_path) == version.checkpoint_sha256
    assert [h["epoch"] for h in run.progress["history"]] == [1, 2]
    assert run.started_at and run.heartbeat_at and run.finished_at


def test_the_temperature_is_fitted_on_clean_and_perturbed_validation_images(project, monkeypatch):  # type: ignore[no-untyped-def]
    """Decision 0333: the checkpoint's temperature is the one `calibrate_model` fits on the
    validation split plus its perturbed copies (tests/ml/test_drift_calibration.py shows how that
    differs from clean-only fitting), and the version records the method."""
    calls: list[dict[str, object]] = []

    def recording(model, images, labels, augment, calibration=None):  # type: ignore[no-untyped-def]
        temperature = calibrate_model(model, images, labels, augment, calibration)
        calls.append({"n": len(labels), "calibration": calibration, "t": temperature})
        return temperature

    monkeypatch.setattr(train_module, "calibrate_model", recording)
    run = train(project)
    version = run.model_version

    assert version.config["calibration"] == DRIFT_CALIBRATION.to_dict()
    assert [c["calibration"] for c in calls] == [DRIFT_CALIBRATION]
    assert DRIFT_CALIBRATION.strengths and DRIFT_CALIBRATION.copies > 0
    assert calls[0]["n"] == version.metrics["split_sizes"]["val"] >= 2
    saved = load_model(version.checkpoint_path, version.checkpoint_sha256)
    assert saved.temperature == calls[0]["t"] == version.metrics["test"]["temperature"]
    # Refitting on the saved model and the locked validation split gives the same temperature.
    data = build_training_set(project)
    val = load_items_by_id(project, data.item_ids[VAL], preprocess_config(project))
    refit = calibrate_model(
        saved.model, val.images, np.asarray(data.labels[VAL]), train_config_for(run).augment
    )
    assert saved.temperature == pytest.approx(refit, rel=1e-4)


def test_the_snapshot_names_the_exact_annotation_versions_trained_on(project):  # type: ignore[no-untyped-def]
    version = train(project).model_version

    snapshot = DatasetSnapshot.objects.get(pk=version.snapshot_id)
    assert len(snapshot.entries) == 30
    entry = snapshot.entries[0]
    item = Item.objects.get(pk=entry["item"])
    current = item.annotations.get(is_current=True)
    assert entry["annotations"] == [current.pk]
    assert entry["label"] == current.payload["labels"][0] and entry["split"] == item.split


def test_every_patient_sits_in_one_split(project):  # type: ignore[no-untyped-def]
    train(project)

    splits_per_patient: dict[str, set[str]] = {}
    for item in Item.objects.filter(project=project).exclude(split=""):
        splits_per_patient.setdefault(item.patient_key, set()).add(item.split)
    assert splits_per_patient and all(len(s) == 1 for s in splits_per_patient.values())
    assert {s for (s,) in splits_per_patient.values()} == {"train", "val", "test"}


def test_new_labels_never_move_an_assigned_split(project):  # type: ignore[no-untyped-def]
    train(project)
    before = dict(Item.objects.exclude(split="").values_list("pk", "split"))
    for item in Item.objects.filter(project=project, split=""):
        label(item, "normal")

    second = train(project)

    assert second.status == RunStatus.SUCCEEDED, second.error
    after = dict(Item.objects.exclude(split="").values_list("pk", "split"))
    assert {pk: after[pk] for pk in before} == before
    assert len(after) == 40


def test_a_second_model_faces_the_active_one_on_the_same_test_split(project):  # type: ignore[no-untyped-def]
    first = train(project).model_version

    second = train(project, seed=1).model_version

    assert second.number == 2 and second.parent_id == first.pk
    promotion = second.metrics["promotion"]
    assert promotion["active_value"] == second.metrics["active_on_same_test"]["auc"]
    first.refresh_from_db()
    if promotion["promote"]:
        assert (first.status, second.status) == (ModelStatus.RETIRED, ModelStatus.ACTIVE)
    else:
        assert (first.status, second.status) == (ModelStatus.ACTIVE, ModelStatus.REJECTED)


def test_a_stricter_rule_keeps_the_active_model(project):  # type: ignore[no-untyped-def]
    first = train(project).model_version

    run = train(project, promotion_metric="accuracy", promotion_tolerance=0.0, max_epochs=1)

    second = run.model_version
    first.refresh_from_db()
    candidate = second.metrics["promotion"]["candidate_value"]
    active = second.metrics["promotion"]["active_value"]
    assert second.metrics["promotion"]["promote"] == (candidate >= active)
    assert ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE).count() == 1


def test_labels_of_one_class_fail_the_run_with_a_reason_and_register_nothing(make_user):  # type: ignore[no-untyped-def]
    project = make_project(admin=make_user("admin"), images=6, labelled=0)
    for item in Item.objects.filter(project=project):
        label(item, "normal")

    run = train(project)

    assert run.status == RunStatus.FAILED
    assert "at least two" in run.error
    assert not ModelVersion.objects.exists()


def test_a_run_cancelled_before_it_starts_training_registers_nothing(project):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK, cancel_requested=True)

    run_training(run.pk, worker="in-process")

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not ModelVersion.objects.exists()


def test_a_run_that_is_not_queued_is_left_alone(project):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, status=RunStatus.CANCELLED)

    assert run_training(run.pk, worker="in-process") == "not-claimed"
    assert run_training(10**9, worker="in-process") == "not-claimed"
