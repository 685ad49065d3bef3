"""The learning tests' cast plays on an empty classification project (tests/cast.py): alice
administers it, rita reviews, anna annotates; otto is in no project. And the test broker."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings

from tests.cast import Cast, make_project


@pytest.fixture
def cast(cast: Cast) -> Cast:
    return cast.on(make_project(name="Chest films"), "alice", "rita", "anna")


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
