"""A worker that was cut off, not killed (decision 0190): while it still trains, the stale-run
check queues its run again and another worker claims it. The first worker stops at its next
check, registers no version, and cannot end the run the second one now owns."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from learning.models import ModelVersion, RunStatus, TrainingRun
from learning.services import runs
from ml_worker.jobs.train import run_training
from tests.cast import make_project
from tests.learning.test_worker_lifecycle import LONG, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cut_off_worker_stops_and_leaves_the_run_to_its_new_owner(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRAINING_MAX_ATTEMPTS = 2
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600  # the takeover below decides staleness
    project = make_project(images=40, labelled=24)
    run = TrainingRun.objects.create(project=project, config=LONG, dispatched_at=timezone.now())
    taken: dict[str, object] = {}

    def take_over() -> None:
        """Host B's side: the check sees a silent run (an hour later), host B claims it."""
        try:
            wait_for(
                lambda: TrainingRun.objects.get(pk=run.pk).progress.get("history"),
                timeout=300,
                what="epoch 1",
            )
            taken["check"] = runs.fail_stale_runs(now=timezone.now() + timedelta(hours=1))
            taken["claim"] = runs.claim_run(run.pk, "gpu@host-b")
        finally:
            connection.close()

    helper = threading.Thread(target=take_over)
    helper.start()
    outcome = run_training(run.pk, worker="gpu@host-a")
    helper.join(timeout=60)

    assert taken["check"] == runs.StaleCheck(failed=[], redispatched=[], requeued=[run.pk])
    assert taken["claim"] is not None
    assert outcome == RunStatus.CANCELLED  # it stopped; its finish matched nothing
    run.refresh_from_db()
    assert (run.status, run.worker, run.attempts) == (RunStatus.RUNNING, "gpu@host-b", 2)
    assert run.finished_at is None and not run.cancel_requested
    assert not ModelVersion.objects.filter(project=project).exists()
