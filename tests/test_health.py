"""/healthz tells a load balancer whether this instance can work: database, Redis, a worker.

Anyone gets the verdict (ok / 503); only staff get which check failed and on what, since the
details name the Redis address and the workers' host names."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def staff(make_user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(make_user("ops", superuser=True))
    return client


@pytest.mark.celery
def test_healthz_is_green_with_the_database_redis_and_a_live_worker(celery_worker, staff) -> None:
    response = staff.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["redis"]["ok"] and body["workers"]["ok"]
    assert "test-" in body["workers"]["detail"]  # the fixture's worker answered the ping


@pytest.mark.celery
def test_anonymous_callers_get_only_the_verdict_never_redis_or_worker_names(
    celery_worker, make_user
) -> None:
    anonymous = Client().get("/healthz")
    annotator = Client()
    annotator.force_login(make_user("doctor"))
    member = annotator.get("/healthz")

    for response in (anonymous, member):
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert b"redis://" not in response.content and b"test-" not in response.content


@pytest.mark.django_db
def test_staff_get_the_details_with_a_token_too(make_user) -> None:
    key = Token.objects.create(user=make_user("ops", superuser=True)).key

    body = Client().get("/healthz", HTTP_AUTHORIZATION=f"Token {key}").json()
    wrong = Client().get("/healthz", HTTP_AUTHORIZATION="Token nope")

    assert body["redis"]["ok"] and "detail" in body["workers"]
    assert wrong.status_code == 503 and wrong.json() == {"status": "fail"}


@pytest.mark.django_db
def test_healthz_is_503_when_no_worker_answers(staff) -> None:
    response = staff.get("/healthz")
    anonymous = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert body["workers"] == {"ok": False, "detail": "no Celery worker answered a ping"}
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "fail"}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(staff) -> None:
    port = closed_port()
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{port}/0"):
        response = staff.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"]
    assert body["redis"]["ok"] is False and str(port) in body["redis"]["detail"]
    assert body["workers"]["ok"] is False


@pytest.mark.django_db
def test_healthz_never_shows_credentials(staff) -> None:
    with override_settings(REDIS_URL="redis://radloop:s3cret@127.0.0.1:6379/8"):
        body = staff.get("/healthz").content.decode()

    assert "s3cret" not in body


def test_healthz_needs_no_login_and_is_never_cached(db) -> None:
    response = Client().get("/healthz")

    assert response.status_code in (200, 503)
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.fixture
def counted_pings(monkeypatch):  # type: ignore[no-untyped-def]
    """The real worker ping, counted; the process's remembered verdict forgotten first."""
    from core import health

    monkeypatch.setattr(health, "_workers_verdict", None)
    calls: list[float] = []
    real = health.check_workers

    def counted() -> health.Check:
        calls.append(time.monotonic())
        return real()

    monkeypatch.setattr(health, "check_workers", counted)
    return calls


@pytest.mark.django_db
def test_the_worker_verdict_is_reused_for_its_cache_time_then_pinged_afresh(
    staff, settings, counted_pings
) -> None:
    """An anonymous caller must not make every request wait a second for a broadcast ping."""
    # A cache time no loaded machine outlasts between four requests (at 0.5 s, CI's busy box
    # once took longer than that after the first one-second ping, and pinged again) ...
    settings.HEALTH_WORKERS_CACHE_S = 60
    answers = [Client().get("/healthz") for _ in range(3)] + [staff.get("/healthz")]

    assert len(counted_pings) == 1
    assert [a.status_code for a in answers] == [503] * 4
    assert answers[-1].json()["workers"]["detail"] == "no Celery worker answered a ping"

    # ... then a short one, outlasted for certain: the next request pings afresh.
    settings.HEALTH_WORKERS_CACHE_S = 0.5
    time.sleep(0.6)
    Client().get("/healthz")
    assert len(counted_pings) == 2

    settings.HEALTH_WORKERS_CACHE_S = 0
    Client().get("/healthz")
    Client().get("/healthz")
    assert len(counted_pings) == 4


def test_concurrent_health_checks_share_one_ping(settings, counted_pings) -> None:
    from core.health import recent_workers_check

    settings.HEALTH_WORKERS_CACHE_S = 60
    start = threading.Barrier(4)
    verdicts = []

    def ask() -> None:
        start.wait()
        verdicts.append(recent_workers_check())

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert len(counted_pings) == 1
    assert len(verdicts) == 4 and len(set(verdicts)) == 1 and not verdicts[0].ok
