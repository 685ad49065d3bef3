"""With a real Celery worker: a run goes queued → running → succeeded and the queue order changes;
a worker killed mid-run leaves the previous model active and no checkpoint, and the run is marked
failed; a cancelled run stops within one epoch."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from annotations.models import Item
from learning.models import ModelStatus, ModelVersion, RunStatus, TrainingRun
from learning.services.runs import fail_stale_runs
from tests.cast import make_project

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

QUICK = {"max_epochs": 3, "min_samples_per_epoch": 64, "batch_size": 16}
# A few seconds per run, so requests made meanwhile surely find it running.
SLOW = {"max_epochs": 1, "min_samples_per_epoch": 1024, "batch_size": 32}
# Long enough to catch it mid-run: many epochs of many samples each (still tiny images).
LONG = {"max_epochs": 200, "min_samples_per_epoch": 512, "batch_size": 32, "patience": 100}


def wait_for(check: Callable[[], object], timeout: float = 120, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def status_of(run_id: int) -> str:
    return TrainingRun.objects.get(pk=run_id).status


def queue(project) -> list[int]:  # type: ignore[no-untyped-def]
    pool = Item.objects.filter(project=project, completed=False)
    return list(pool.order_by("-priority", "pk").values_list("pk", flat=True))


def retrain(client, project, config: dict) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/v1/projects/{project.pk}/training-runs/", {"config": config}, format="json"
    )
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return make_user("admin")


@pytest.fixture
def client(admin):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(admin)
    return client


def test_a_run_goes_from_queued_to_succeeded_and_reorders_the_queue(admin, client, celery_worker):  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, images=40, labelled=24)
    before = queue(project)
    seen: set[str] = set()

    run_id = retrain(client, project, QUICK)

    def finished() -> bool:
        seen.add(status_of(run_id))
        return status_of(run_id) in (RunStatus.SUCCEEDED, RunStatus.FAILED)

    wait_for(finished, what="the run to finish")
    run = TrainingRun.objects.get(pk=run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert RunStatus.RUNNING in seen or run.started_at is not None
    assert run.model_version.status == ModelStatus.ACTIVE
    assert run.progress["history"][-1]["epoch"] == len(run.progress["history"])
    wait_for(lambda: queue(project) != before, what="the scoring pass to reorder the queue")


def test_a_worker_killed_mid_run_leaves_the_previous_model_active(admin, client, celery_worker):  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, images=40, labelled=24)
    first = retrain(client, project, QUICK)
    wait_for(lambda: status_of(first) == RunStatus.SUCCEEDED, what="the first model")
    previous = ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE)

    run_id = retrain(client, project, LONG)
    wait_for(
        lambda: TrainingRun.objects.get(pk=run_id).progress.get("history"),
        what="the second run's first epoch",
    )
    celery_worker.send_signal(signal.SIGKILL)
    celery_worker.wait(timeout=30)
    time.sleep(1.5)

    # Out of attempts (TRAINING_MAX_ATTEMPTS=1): failed, not queued again (decision 0190).
    with override_settings(TRAINING_HEARTBEAT_TIMEOUT_S=1, TRAINING_MAX_ATTEMPTS=1):
        assert fail_stale_runs().failed == [run_id]

    run = TrainingRun.objects.get(pk=run_id)
    assert run.status == RunStatus.FAILED and "heartbeat" in run.error
    assert ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE) == previous
    assert ModelVersion.objects.filter(project=project).count() == 1
    folder = Path(settings.MODEL_STORAGE_DIR) / f"project-{project.pk}"
    # The active model's checkpoint stays. The dead run may have written its own file just before
    # the kill (an orphan no version points at; the count above shows none was registered).
    assert folder / f"run-{first}.pt" in set(folder.iterdir())


def test_a_cancelled_run_stops_within_one_epoch(admin, client, celery_worker):  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, images=40, labelled=24)
    run_id = retrain(client, project, LONG)
    wait_for(
        lambda: TrainingRun.objects.get(pk=run_id).progress.get("history"),
        what="the first epoch",
    )

    epochs_at_cancel = len(TrainingRun.objects.get(pk=run_id).progress["history"])
    response = client.post(f"/api/v1/training-runs/{run_id}/cancel", {}, format="json")
    assert response.status_code == 202

    wait_for(lambda: status_of(run_id) == RunStatus.CANCELLED, timeout=60, what="cancellation")
    run = TrainingRun.objects.get(pk=run_id)
    assert len(run.progress["history"]) <= epochs_at_cancel + 1
    assert run.model_version is None and not ModelVersion.objects.filter(project=project).exists()


def test_requests_during_a_run_coalesce_into_one_follow_up_that_runs_after_it(  # type: ignore[no-untyped-def]
    admin, client, celery_worker
):
    project = make_project(admin=admin, images=40, labelled=24)
    first = retrain(client, project, SLOW)
    wait_for(lambda: status_of(first) == RunStatus.RUNNING, what="the first run to start")

    follow_ups = {retrain(client, project, QUICK) for _ in range(3)}

    assert len(follow_ups) == 1 and first not in follow_ups
    follow_up = follow_ups.pop()
    wait_for(lambda: status_of(follow_up) == RunStatus.SUCCEEDED, what="the follow-up run")
    assert TrainingRun.objects.filter(project=project).count() == 2
    first_run = TrainingRun.objects.get(pk=first)
    assert first_run.status == RunStatus.SUCCEEDED
    assert first_run.finished_at <= TrainingRun.objects.get(pk=follow_up).started_at
