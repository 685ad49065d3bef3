"""The heartbeat thread keeps a running run's heartbeat fresh and notices when the run is taken
from it (marked failed by the stale-run check)."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from learning.models import RunStatus, TrainingRun
from ml_worker.jobs.heartbeat import Heartbeat
from tests.cast import Cast

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_thread_beats_while_the_job_runs(cast: Cast) -> None:
    started = timezone.now()
    run = TrainingRun.objects.create(
        project=cast.project, status=RunStatus.RUNNING, heartbeat_at=started
    )

    with Heartbeat(run.pk, interval_s=0.1) as beat:
        time.sleep(0.5)

    run.refresh_from_db()
    assert run.heartbeat_at > started
    assert not beat.lost.is_set()


def test_the_thread_reports_a_run_that_is_no_longer_running(cast: Cast) -> None:
    run = TrainingRun.objects.create(
        project=cast.project, status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )

    with Heartbeat(run.pk, interval_s=0.1) as beat:
        TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
        assert beat.lost.wait(timeout=5)
