"""Redis restarted mid-queue (a PRIVATE redis-server on a free port, `make run`'s options):

- a training run queued before the restart is still run afterwards (the append-only log keeps
  the message);
- while Redis is down, asking for a run answers 202 (the row is saved, queued) instead of a 500,
  and a doctor's submit is saved and counted; after Redis is back the stale-run check re-sends
  the run and the worker completes it. Nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import Item, Lease, Submission
from learning.models import RunStatus, TrainingRun
from learning.services.runs import fail_stale_runs
from tests.cast import make_project
from tests.hardening.services import PrivateRedis, start_worker, stop_worker
from tests.learning.test_worker_lifecycle import QUICK, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """The web side of this process sends tasks to a private Redis for the test's duration."""
    from config.celery import app

    server = PrivateRedis(tmp_path / "redis")
    server.start()
    saved = (app.conf.broker_url, app.conf.result_backend)
    app.conf.broker_url = app.conf.result_backend = server.url
    _forget_connections(app)  # the pools and the result backend were built for the shared Redis
    try:
        yield server
    finally:
        server.stop()
        app.conf.broker_url, app.conf.result_backend = saved
        # Else the next test in this process talks to the stopped private Redis.
        _forget_connections(app)


def _forget_connections(app) -> None:  # type: ignore[no-untyped-def]
    app._pool = None
    app.amqp._producer_pool = None
    vars(app._local).pop("backend", None)  # Celery caches the result backend per thread


def retrain(client: APIClient, project_id: int) -> tuple[int, int]:
    response = client.post(
        f"/api/v1/projects/{project_id}/training-runs/", {"config": QUICK}, format="json"
    )
    return response.status_code, int(response.json()["id"]) if response.status_code == 202 else 0


def test_runs_queued_before_and_during_a_redis_restart_all_complete(  # type: ignore[no-untyped-def]
    make_user, private_redis
):
    admin = make_user("admin")
    client = APIClient()
    client.force_authenticate(admin)
    before = make_project(admin=admin, images=40, labelled=24, name="queued before")
    during = make_project(admin=admin, images=40, labelled=24, name="asked while down")

    status, queued_before = retrain(client, before.pk)  # no worker yet: the message waits
    assert status == 202

    private_redis.stop()
    status, asked_while_down = retrain(client, during.pk)
    assert status == 202, "asking for a run while Redis is down must not be a server error"
    unsent = TrainingRun.objects.get(pk=asked_while_down)
    assert unsent.status == RunStatus.QUEUED
    assert unsent.dispatched_at < timezone.now() - timedelta(days=1)  # due for re-sending
    # A doctor's read while Redis is down is saved and counted.
    item = Item.objects.filter(project=during, completed=False).first()
    assert item is not None
    doctor = make_user("doctor")
    during.memberships.create(user=doctor, role="annotator")
    reader = APIClient()
    reader.force_authenticate(doctor)
    leased = reader.post(f"/api/v1/projects/{during.pk}/queue/next", {}, format="json")
    assert leased.status_code == 200, leased.content
    leased_item = leased.json()["items"][0]["id"]
    put = reader.put(
        f"/api/v1/items/{leased_item}/annotations/0b9c2d1e-3f4a-4b5c-8d6e-7f8091a2b3c4",
        {"kind": "class", "frame": 1, "payload": {"labels": ["normal"]}},
        format="json",
    )
    assert put.status_code in (200, 201), put.content
    submitted = reader.post(f"/api/v1/items/{leased_item}/submit", {}, format="json")
    assert submitted.status_code == 200, submitted.content
    assert Submission.objects.filter(item_id=leased_item, user=doctor).exists()
    assert Lease.objects.get(item_id=leased_item, user=doctor).outcome == "submitted"

    private_redis.start()  # same port, same append-only log
    worker = start_worker(private_redis.url, "redis-restart")
    try:
        wait_for(
            lambda: TrainingRun.objects.get(pk=queued_before).status == RunStatus.SUCCEEDED,
            what="the run queued before the restart",
        )
        # The next stale-run check (the worker's own at start, beat, a request) re-sends the
        # run whose message never reached the broker, without waiting TRAINING_REDISPATCH_AFTER_S.
        fail_stale_runs()
        wait_for(
            lambda: TrainingRun.objects.get(pk=asked_while_down).status == RunStatus.SUCCEEDED,
            what="the run asked for while Redis was down",
        )
    finally:
        stop_worker(worker)
