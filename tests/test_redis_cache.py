"""core.redis_cache: Django's Redis cache with one redis-py client per pool (decision 0128).

Django's own client builds a `redis.Redis` per call (~100 µs of CPU each, a third of a warm
DICOMweb frame request). These tests use the configured cache (a real Redis)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import redis
from django.core.cache import cache, caches

from core.redis_cache import RedisCache


@pytest.fixture
def key() -> str:
    return f"test-redis-cache-{uuid.uuid4().hex}"


def test_the_configured_cache_is_the_reusing_backend() -> None:
    assert isinstance(caches["default"], RedisCache)


def test_cache_calls_build_no_client_after_the_first(monkeypatch, key) -> None:  # type: ignore[no-untyped-def]
    cache.get(key)  # the pool and its client exist from here on
    built: list[int] = []
    original = redis.Redis.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    assert cache.add(key, 0, timeout=60)
    assert cache.incr(key) == 1
    cache.set_many({key + "-a": b"x", key + "-b": {"n": 2}}, timeout=60)
    assert cache.get_many([key, key + "-a", key + "-b"]) == {
        key: 1,
        key + "-a": b"x",
        key + "-b": {"n": 2},
    }
    cache.delete_many([key, key + "-a", key + "-b"])
    assert cache.get(key, "gone") == "gone"
    assert built == []


def test_a_forked_child_talks_to_redis_on_its_own_connections(key) -> None:
    cache.set(key, "parent", timeout=60)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the inherited client must open its own connection
        try:
            cache.set(key, "child", timeout=60)
            os.write(write, str(cache.get(key)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 100) == b"child"
    assert cache.get(key) == "child"  # the parent's connection still answers in order
    cache.delete(key)
