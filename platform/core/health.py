"""Checks behind /healthz: the database, Redis, and at least one live Celery worker.

The worker check broadcasts a Celery ping and waits up to a second for replies. /healthz needs no
login, so without a bound every anonymous request would hold a server thread that long and
broadcast to every worker; the verdict is therefore kept per web process for
HEALTH_WORKERS_CACHE_S seconds and one request at a time refreshes it (the others wait for that
answer rather than sending their own ping). The database and Redis checks are one cheap round
trip each and always run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection

from config.failfast import redact


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the detail says which
        return Check("database", False, f"{type(exc).__name__}: {exc}".strip()[:200])
    return Check("database", True, connection.vendor)


def check_redis() -> Check:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
        client.ping()
    except redis.RedisError as exc:
        return Check("redis", False, str(exc)[:200])
    return Check("redis", True, redact(settings.REDIS_URL))


def check_workers(timeout: float = 1.0) -> Check:
    from config.celery import app

    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception as exc:  # broker unreachable shows up here as a kombu/redis error
        return Check("workers", False, str(exc)[:200])
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return Check("workers", False, "no Celery worker answered a ping")
    return Check("workers", True, ", ".join(names))


_workers_lock = threading.Lock()
_workers_verdict: tuple[float, Check] | None = None


def recent_workers_check() -> Check:
    """check_workers(), reused for HEALTH_WORKERS_CACHE_S seconds (0: a fresh ping each call)."""
    global _workers_verdict
    ttl = float(getattr(settings, "HEALTH_WORKERS_CACHE_S", 0))
    with _workers_lock:  # single flight: concurrent callers share one ping
        if ttl > 0 and _workers_verdict is not None:
            taken, verdict = _workers_verdict
            if time.monotonic() - taken < ttl:
                return verdict
        verdict = check_workers()
        _workers_verdict = (time.monotonic(), verdict)
        return verdict


def run_checks() -> list[Check]:
    database, cache = check_database(), check_redis()
    workers = recent_workers_check() if cache.ok else Check("workers", False, "Redis is down")
    return [database, cache, workers]
