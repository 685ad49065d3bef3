"""/healthz tells a load balancer whether this instance can work: database, Redis, a worker."""

from __future__ import annotations

import socket

import pytest
from django.test import Client, override_settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.celery
def test_healthz_is_green_with_the_database_redis_and_a_live_worker(celery_worker) -> None:
    response = Client().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["redis"]["ok"] and body["workers"]["ok"]
    assert "test-" in body["workers"]["detail"]  # the fixture's worker answered the ping


@pytest.mark.django_db
def test_healthz_is_503_when_no_worker_answers() -> None:
    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["workers"] == {"ok": False, "detail": "no Celery worker answered a ping"}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down() -> None:
    port = closed_port()
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{port}/0"):
        response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"]
    assert body["redis"]["ok"] is False and str(port) in body["redis"]["detail"]
    assert body["workers"]["ok"] is False


@pytest.mark.django_db
def test_healthz_never_shows_credentials() -> None:
    with override_settings(REDIS_URL="redis://radloop:s3cret@127.0.0.1:6379/8"):
        body = Client().get("/healthz").content.decode()

    assert "s3cret" not in body


def test_healthz_needs_no_login_and_is_never_cached(db) -> None:
    response = Client().get("/healthz")

    assert response.status_code in (200, 503)
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
