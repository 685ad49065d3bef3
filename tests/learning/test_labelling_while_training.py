"""The embedded default holds while the worker trains (issue 14).

On SQLite (a file, as `make run` uses), a doctor goes through the workspace's real path at full
speed (lease two items via queue/next, save an answer, submit with an Idempotency-Key) while a
real Celery worker trains and scores: a manual run is going when the doctor starts, and the
project's retrain-every trigger queues more as labels arrive. No request may fail (no 5xx and no
retry needed), no label may be lost, no run may fail.
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.db import connection

from annotations.models import Annotation, Item, Membership, Role, Submission
from learning.models import RunStatus, TrainingRun
from tests.cast import make_project
from tests.learning.test_worker_lifecycle import retrain, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TRAINING = {"max_epochs": 30, "min_samples_per_epoch": 256, "batch_size": 32, "patience": 100}
MAX_ITEMS = 40
MAX_SECONDS = 60


def test_a_doctor_at_full_speed_gets_no_error_while_the_worker_trains(make_user, celery_worker):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    if connection.vendor != "sqlite":
        pytest.skip("the embedded default is SQLite")
    admin, doctor = make_user("admin"), make_user("doctor")
    project = make_project(admin=admin, images=80, labelled=24, retrain_every=5)
    Membership.objects.create(project=project, user=doctor, role=Role.ANNOTATOR)
    admin_client, client = APIClient(), APIClient()
    admin_client.force_authenticate(admin)
    client.force_authenticate(doctor)
    client.raise_request_exception = False  # a 500 is an answer to count, not a test crash

    first = retrain(admin_client, project, TRAINING)
    wait_for(lambda: TrainingRun.objects.get(pk=first).status == RunStatus.RUNNING, 60, "run")

    errors: list[str] = []
    submitted: dict[int, str] = {}
    seen_running = 0
    deadline = time.monotonic() + MAX_SECONDS
    while len(submitted) < MAX_ITEMS and time.monotonic() < deadline:
        lease = client.post(f"/api/v1/projects/{project.pk}/queue/next", {"count": 2}, "json")
        if lease.status_code != 200:
            errors.append(f"next {lease.status_code} {lease.content[:200]!r}")
            continue
        items = [i for i in lease.json()["items"] if i["id"] not in submitted]
        if not items:
            break
        item = items[0]
        label = ("normal", "pneumonia")[item["id"] % 2]
        saved = client.put(
            f"/api/v1/items/{item['id']}/annotations/{uuid.uuid4()}",
            {"kind": "class", "frame": 1, "payload": {"labels": [label]}},
            "json",
        )
        if saved.status_code != 201:
            errors.append(f"save {saved.status_code} {saved.content[:200]!r}")
            continue
        done = client.post(
            f"/api/v1/items/{item['id']}/submit",
            {"time_spent_ms": 100},
            "json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        if done.status_code != 200 or not done.json()["counted"]:
            errors.append(f"submit {done.status_code} {done.content[:200]!r}")
            continue
        submitted[item["id"]] = label
        seen_running += TrainingRun.objects.filter(
            project=project, status=RunStatus.RUNNING
        ).exists()

    assert errors == []
    assert len(submitted) >= 20, "the doctor labelled too few items to mean anything"
    assert seen_running >= 5, "the worker was not training while the doctor labelled"
    # Nothing lost: every submitted item counts its read and keeps the doctor's label.
    for item_id, label in submitted.items():
        assert Item.objects.get(pk=item_id).reads_done == 1
        mine = Annotation.objects.get(item_id=item_id, author=doctor, is_current=True)
        assert mine.payload["labels"] == [label]
    assert Submission.objects.filter(user=doctor).count() == len(submitted)

    # The runs (the manual one and those retrain-every queued) all end well.
    def settled() -> bool:
        runs = TrainingRun.objects.filter(project=project)
        return not runs.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists()

    wait_for(settled, timeout=100, what="the runs to finish")
    runs = TrainingRun.objects.filter(project=project)
    assert runs.filter(trigger="auto").exists()
    assert not runs.filter(status=RunStatus.FAILED).exists(), list(runs.values("pk", "error"))
