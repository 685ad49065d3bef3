"""A run whose worker stopped beating is queued again while it has attempts left and no follow-up
is queued, else marked failed; the previous model stays active and the queued follow-up is sent.
A worker that was only cut off cannot write to the run once another attempt owns it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from learning.models import ModelStatus, ModelVersion, RunStatus, TrainingRun
from learning.services import runs
from learning.services.checkpoint_files import run_checkpoint_path
from learning.services.runs import STALE_RUN_ERROR, fail_stale_runs
from tests.learning.conftest import sent_tasks

pytestmark = pytest.mark.django_db


def running(project, *, beat_seconds_ago: float, attempts: int = 1) -> TrainingRun:  # type: ignore[no-untyped-def]
    beat = timezone.now() - timedelta(seconds=beat_seconds_ago)
    return TrainingRun.objects.create(
        project=project,
        status=RunStatus.RUNNING,
        started_at=beat,
        heartbeat_at=beat,
        attempts=attempts,
        worker="gpu@host-a",
    )


@pytest.fixture(autouse=True)
def one_attempt(settings):  # type: ignore[no-untyped-def]
    """The failure tests: a run out of attempts (the requeue tests raise the limit)."""
    settings.TRAINING_MAX_ATTEMPTS = 1


def test_a_run_without_heartbeat_for_too_long_is_marked_failed(cast, settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    active = ModelVersion.objects.create(
        project=cast.project, number=1, architecture="small_cnn", status=ModelStatus.ACTIVE
    )
    dead = running(cast.project, beat_seconds_ago=61)

    outcome = fail_stale_runs()

    dead.refresh_from_db()
    assert outcome.failed == [dead.pk]
    assert dead.status == RunStatus.FAILED and dead.error == STALE_RUN_ERROR
    assert dead.finished_at is not None
    active.refresh_from_db()
    assert active.status == ModelStatus.ACTIVE


def test_a_run_that_beat_recently_is_left_alone(cast, settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    alive = running(cast.project, beat_seconds_ago=30)

    assert fail_stale_runs().failed == []
    alive.refresh_from_db()
    assert alive.status == RunStatus.RUNNING


def test_the_queued_follow_up_of_a_dead_run_is_sent_to_the_train_queue(
    cast, settings, broker, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    running(cast.project, beat_seconds_ago=120)
    follow_up = TrainingRun.objects.create(project=cast.project, dispatched_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        fail_stale_runs()

    assert sent_tasks(broker, "train") == [("ml_worker.tasks.train_model", [follow_up.pk])]


def test_a_queued_run_whose_message_was_lost_is_sent_again_once(
    cast, settings, broker, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    settings.TRAINING_REDISPATCH_AFTER_S = 600
    forgotten = TrainingRun.objects.create(
        project=cast.project, dispatched_at=timezone.now() - timedelta(seconds=601)
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = fail_stale_runs()
        second = fail_stale_runs()

    assert first.redispatched == [forgotten.pk] and second.redispatched == []
    assert sent_tasks(broker, "train") == [("ml_worker.tasks.train_model", [forgotten.pk])]


def test_listing_runs_applies_the_check(cast, settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    dead = running(cast.project, beat_seconds_ago=300)

    body = cast.client("anna").get(f"/api/v1/training-runs/{dead.pk}/").json()

    assert body["status"] == "failed"


def registered_file(project, run: TrainingRun, content: bytes, status: str) -> Path:  # type: ignore[no-untyped-def]
    """The run's checkpoint file, written, and a version of `status` that points at it."""
    path = run_checkpoint_path(project.pk, run.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    ModelVersion.objects.create(
        project=project,
        number=1,
        architecture="small_cnn",
        status=status,
        checkpoint_path=str(path),
    )
    return path


def test_the_sweep_removes_the_dead_runs_unregistered_checkpoints_and_keeps_registered_ones(
    cast, settings, tmp_path
):  # type: ignore[no-untyped-def]
    """A worker killed after writing its checkpoint (or mid-write) but before registering a
    version leaves files nothing points at; failing the run removes exactly those."""
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    settings.MODEL_STORAGE_DIR = tmp_path
    earlier = TrainingRun.objects.create(project=cast.project, status=RunStatus.SUCCEEDED)
    kept = registered_file(cast.project, earlier, b"active weights", ModelStatus.ACTIVE)
    dead = running(cast.project, beat_seconds_ago=61)
    orphan = run_checkpoint_path(cast.project.pk, dead.pk)
    orphan_shadow = run_checkpoint_path(cast.project.pk, dead.pk, shadow=True)
    half_written = orphan.parent / f".{orphan.name}.k3j2.tmp"
    for path in (orphan, orphan_shadow, half_written):
        path.write_bytes(b"weights of a run that never registered")
    other_run = run_checkpoint_path(cast.project.pk, dead.pk + 1)  # not the failed run's
    other_run.write_bytes(b"another run's weights")

    assert fail_stale_runs().failed == [dead.pk]

    assert sorted(p.name for p in kept.parent.iterdir()) == sorted([kept.name, other_run.name])
    assert kept.read_bytes() == b"active weights"


def test_a_file_a_version_points_at_is_kept_even_when_its_run_is_failed(cast, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    settings.MODEL_STORAGE_DIR = tmp_path
    dead = running(cast.project, beat_seconds_ago=61)
    registered = registered_file(cast.project, dead, b"registered", ModelStatus.CANDIDATE)

    assert fail_stale_runs().failed == [dead.pk]

    assert registered.read_bytes() == b"registered"


def test_a_dead_run_with_attempts_left_is_queued_again_and_sent(
    cast, settings, broker, django_capture_on_commit_callbacks, tmp_path
):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    settings.TRAINING_MAX_ATTEMPTS = 2
    settings.MODEL_STORAGE_DIR = tmp_path
    active = ModelVersion.objects.create(
        project=cast.project, number=1, architecture="small_cnn", status=ModelStatus.ACTIVE
    )
    dead = running(cast.project, beat_seconds_ago=61)
    orphan = run_checkpoint_path(cast.project.pk, dead.pk)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"half a run")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = fail_stale_runs()

    dead.refresh_from_db()
    assert (outcome.requeued, outcome.failed, outcome.redispatched) == ([dead.pk], [], [])
    assert dead.status == RunStatus.QUEUED and dead.worker == "" and dead.heartbeat_at is None
    assert "gpu@host-a" in dead.log
    assert sent_tasks(broker, "train") == [("ml_worker.tasks.train_model", [dead.pk])]
    assert not orphan.exists()
    active.refresh_from_db()
    assert active.status == ModelStatus.ACTIVE

    claimed = runs.claim_run(dead.pk, "gpu@host-b")
    assert claimed is not None and claimed.attempts == 2 and claimed.worker == "gpu@host-b"


def test_a_dead_run_out_of_attempts_is_failed(cast, settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    settings.TRAINING_MAX_ATTEMPTS = 2
    dead = running(cast.project, beat_seconds_ago=61, attempts=2)

    assert fail_stale_runs().failed == [dead.pk]

    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and dead.error == STALE_RUN_ERROR


def test_a_dead_run_with_a_queued_follow_up_gives_way_to_it(cast, settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    settings.TRAINING_MAX_ATTEMPTS = 2
    dead = running(cast.project, beat_seconds_ago=61)
    follow_up = TrainingRun.objects.create(project=cast.project, dispatched_at=timezone.now())

    outcome = fail_stale_runs()

    dead.refresh_from_db()
    assert outcome.failed == [dead.pk] and outcome.requeued == []
    assert dead.status == RunStatus.FAILED and f"queued run {follow_up.pk}" in dead.error


def test_a_worker_that_was_only_cut_off_cannot_touch_the_next_attempt(cast, settings):  # type: ignore[no-untyped-def]
    """Host A lost its network, not its process: after the run was queued again and host B
    claimed it, A's heartbeats, progress and finish match nothing, and A is told to stop."""
    settings.TRAINING_HEARTBEAT_TIMEOUT_S = 60
    settings.TRAINING_MAX_ATTEMPTS = 2
    dead = running(cast.project, beat_seconds_ago=61)
    fail_stale_runs()
    runs.claim_run(dead.pk, "gpu@host-b")

    assert runs.heartbeat(dead.pk, attempt=1) is False
    assert runs.record_progress(dead.pk, {"epoch": 9}, attempt=1) is False
    assert runs.should_stop(dead.pk, attempt=1) is True
    assert runs.finish_run(dead.pk, RunStatus.SUCCEEDED, attempt=1) is False

    dead.refresh_from_db()
    assert dead.status == RunStatus.RUNNING and dead.worker == "gpu@host-b"
    assert runs.heartbeat(dead.pk, attempt=2) is True
    assert runs.should_stop(dead.pk, attempt=2) is False
    assert runs.finish_run(dead.pk, RunStatus.SUCCEEDED, log="trained", attempt=2) is True
    dead.refresh_from_db()
    assert dead.status == RunStatus.SUCCEEDED
    assert dead.log == "attempt 1 lost with worker gpu@host-a\ntrained"
