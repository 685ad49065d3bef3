"""The segmentation loop with a real Celery worker on PostgreSQL: an automatic run (the
retrain-every rule) goes queued → succeeded with its test Dice stored, the pool is rescored with
mask suggestions, and a worker killed mid-run leaves the previous segmenter active."""

from __future__ import annotations

import signal
import time

import pytest
from django.test import override_settings

from annotations.models import Item
from learning.models import ModelStatus, ModelVersion, RunStatus, Score, TrainingRun
from learning.services.runs import fail_stale_runs
from learning.triggers import on_labels_submitted
from tests.learning.seg_factories import make_seg_project
from tests.learning.test_worker_lifecycle import retrain, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

# Automatic runs take no per-run config: the worker reads these (settings, from its env).
SHORT_RUNS = '{"max_epochs": 3, "min_samples_per_epoch": 48, "batch_size": 8, "augment": false}'
FAILED = RunStatus.FAILED
LONG = {"max_epochs": 200, "min_samples_per_epoch": 512, "batch_size": 8, "patience": 100}


@pytest.fixture
def short_runs(monkeypatch):  # type: ignore[no-untyped-def]
    """Listed before celery_worker, so the worker process starts with it in its environment."""
    monkeypatch.setenv("LEARNING_SEG_TRAIN_DEFAULTS", SHORT_RUNS)


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return make_user("admin")


@pytest.fixture
def client(admin):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(admin)
    return client


def test_an_automatic_segmentation_run_succeeds_and_suggests_masks(  # type: ignore[no-untyped-def]
    admin, short_runs, celery_worker
):
    project, _ = make_seg_project(admin, n_items=36, n_labelled=28, retrain_every=20)

    on_labels_submitted(project.pk)  # what the workflow calls after a submit

    run = wait_for(lambda: TrainingRun.objects.filter(project=project).first(), what="a run")
    assert run.trigger == "auto"
    wait_for(
        lambda: TrainingRun.objects.get(pk=run.pk).status in (RunStatus.SUCCEEDED, FAILED),
        timeout=300,
        what="the automatic run to finish",
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    assert version.status == ModelStatus.ACTIVE
    assert 0.0 <= version.metrics["test"]["dice"] <= 1.0
    assert version.config["training"]["max_epochs"] == 3
    pool = Item.objects.filter(project=project, completed=False).count()
    wait_for(
        lambda: Score.objects.filter(model_version=version).count() == pool,
        what="the scoring pass",
    )
    assert all(s.suggestion["kind"] == "mask" for s in Score.objects.filter(model_version=version))


def test_a_worker_killed_mid_segmentation_run_leaves_the_previous_model_active(  # type: ignore[no-untyped-def]
    admin, client, short_runs, celery_worker
):
    project, _ = make_seg_project(admin, n_items=36, n_labelled=28)
    first = retrain(client, project, {})
    wait_for(
        lambda: TrainingRun.objects.get(pk=first).status == RunStatus.SUCCEEDED,
        timeout=300,
        what="the first model",
    )
    previous = ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE)

    run_id = retrain(client, project, LONG)
    wait_for(
        lambda: TrainingRun.objects.get(pk=run_id).progress.get("history"),
        timeout=300,
        what="the second run's first epoch",
    )
    celery_worker.send_signal(signal.SIGKILL)
    celery_worker.wait(timeout=30)
    time.sleep(1.5)

    # Out of attempts (TRAINING_MAX_ATTEMPTS=1): failed, not queued again (decision 0190).
    with override_settings(TRAINING_HEARTBEAT_TIMEOUT_S=1, TRAINING_MAX_ATTEMPTS=1):
        assert fail_stale_runs().failed == [run_id]

    assert TrainingRun.objects.get(pk=run_id).status == RunStatus.FAILED
    assert ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE) == previous
    assert ModelVersion.objects.filter(project=project).count() == 1
