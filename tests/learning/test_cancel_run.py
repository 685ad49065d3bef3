"""Admins cancel runs: a queued one at once, a running one at its next stop check."""

from __future__ import annotations

import pytest
from django.utils import timezone

from learning.models import RunStatus, TrainingRun
from learning.services.runs import should_stop

pytestmark = pytest.mark.django_db


def cancel(cast, who: str, run: TrainingRun):  # type: ignore[no-untyped-def]
    return cast.client(who).post(f"/api/v1/training-runs/{run.pk}/cancel", {}, format="json")


def test_cancelling_a_queued_run_ends_it_immediately(cast):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=cast.project)

    response = cancel(cast, "alice", run)

    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"


def test_cancelling_a_running_run_asks_the_worker_to_stop(cast):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(
        project=cast.project, status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )
    assert should_stop(run.pk) is False

    body = cancel(cast, "alice", run).json()

    assert body["status"] == "running" and body["cancel_requested"] is True
    assert should_stop(run.pk) is True


def test_a_finished_run_cannot_be_cancelled(cast):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=cast.project, status=RunStatus.SUCCEEDED)

    assert cancel(cast, "alice", run).status_code == 409


@pytest.mark.parametrize(("who", "expected"), [("anna", 403), ("otto", 404)])
def test_only_admins_may_cancel(cast, who, expected):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=cast.project)

    assert cancel(cast, who, run).status_code == expected
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
