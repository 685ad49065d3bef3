"""Personas and helpers for the learning tests."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings
from rest_framework.test import APIClient

from annotations.models import LabelClass, Membership, Project, Role


@dataclass
class Cast:
    project: Project
    admin: object
    reviewer: object
    annotator: object
    outsider: object

    def client(self, who: str | None) -> APIClient:
        client = APIClient()
        if who is not None:
            client.force_authenticate(getattr(self, who))
        return client


@pytest.fixture
def cast(make_user) -> Cast:  # type: ignore[no-untyped-def]
    """A project with an admin, a reviewer, an annotator, and an outsider who is in none."""
    project = Project.objects.create(name="Chest films", task_type="classification")
    for index, name in enumerate(["normal", "pneumonia"]):
        LabelClass.objects.create(project=project, name=name, index=index)
    people = {
        role: make_user(f"{role}-{project.pk}") for role in ("admin", "reviewer", "annotator")
    }
    Membership.objects.create(project=project, user=people["admin"], role=Role.ADMIN)
    Membership.objects.create(project=project, user=people["reviewer"], role=Role.REVIEWER)
    Membership.objects.create(project=project, user=people["annotator"], role=Role.ANNOTATOR)
    return Cast(project=project, outsider=make_user(f"outsider-{project.pk}"), **people)


@pytest.fixture
def broker() -> redis.Redis:
    """The test broker (a real Redis database), emptied, to see which tasks were sent."""
    connection = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for queue in ("train", "infer", "default"):
        connection.delete(queue)
    return connection


def sent_tasks(broker: redis.Redis, queue: str) -> list[tuple[str, list[int]]]:
    """(task name, args) of the messages waiting in a queue, oldest first."""
    messages = [json.loads(raw) for raw in reversed(broker.lrange(queue, 0, -1))]
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]
