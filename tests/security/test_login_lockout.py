"""Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one username from
one address, even the right password is refused until the cool-off ends or an admin lifts it.

Without it, 30 wrong passwords and then the right one were all answered (issue 14)."""

from __future__ import annotations

import io

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def attempt(password: str, *, address: str = "10.0.0.7", **headers: str) -> tuple[Client, int]:
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(LOGIN, {"username": "doctor", "password": password})
    return client, response.status_code


def logged_in(client: Client) -> bool:
    return client.get("/api/v1/me").status_code == 200


def fail_until_locked(**kwargs: str) -> None:
    statuses = [attempt("wrong-guess", **kwargs)[1] for _ in range(settings.AXES_FAILURE_LIMIT)]
    # The form again, with its error message, until the failure that reaches the limit.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


def test_the_right_password_is_refused_after_too_many_wrong_ones(make_user) -> None:
    make_user("doctor")
    fail_until_locked()

    client, status = attempt("pw")

    assert status == 429
    assert not logged_in(client)
    assert AccessAttempt.objects.filter(username="doctor").exists()


def test_fewer_failures_than_the_limit_leave_the_door_open(make_user) -> None:
    make_user("doctor")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt("wrong-guess")

    client, status = attempt("pw")

    assert status == 302 and logged_in(client)
    # A success forgets the failures, so a later typo does not start near the limit.
    assert not AccessAttempt.objects.filter(username="doctor").exists()


def test_the_lockout_is_per_username_and_address(make_user) -> None:
    make_user("doctor")
    fail_until_locked(address="10.0.0.7")

    elsewhere, status = attempt("pw", address="10.0.0.8")

    # The doctor at their own workstation is not locked out by someone guessing elsewhere.
    assert status == 302 and logged_in(elsewhere)


def test_an_admin_lifts_the_lockout_with_axes_reset_username(make_user) -> None:
    make_user("doctor")
    fail_until_locked()
    assert attempt("pw")[1] == 429

    call_command("axes_reset_username", "doctor", stdout=io.StringIO())

    client, status = attempt("pw")
    assert status == 302 and logged_in(client)


def test_an_admin_sees_and_deletes_the_lockout_in_the_django_admin(make_user) -> None:
    make_user("doctor")
    fail_until_locked()
    admin = Client()
    admin.force_login(make_user("root", superuser=True))

    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and b"doctor" in listing.content
    pk = AccessAttempt.objects.get(username="doctor").pk
    deleted = admin.post(f"/admin/axes/accessattempt/{pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302
    client, status = attempt("pw")
    assert status == 302 and logged_in(client)


def test_the_django_admin_login_is_throttled_too(make_user) -> None:
    make_user("root", superuser=True)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR="10.0.0.9").post(
            "/admin/login/", {"username": "root", "password": "wrong-guess"}
        )

    response = Client(REMOTE_ADDR="10.0.0.9").post(
        "/admin/login/", {"username": "root", "password": "pw"}
    )

    assert response.status_code == 429


def test_behind_our_proxy_a_forged_forwarded_address_does_not_escape(make_user, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1  # docker: Caddy appends the caller's address
    make_user("doctor")
    for index in range(settings.AXES_FAILURE_LIMIT):
        # The caller forges a new leftmost entry each time; Caddy appends the real 203.0.113.5.
        forwarded = f"198.51.100.{index}, 203.0.113.5"
        attempt("wrong-guess", address="172.18.0.2", HTTP_X_FORWARDED_FOR=forwarded)

    _, status = attempt("pw", address="172.18.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5")
    _, other = attempt("pw", address="172.18.0.2", HTTP_X_FORWARDED_FOR="203.0.113.6")

    assert status == 429
    assert other == 302  # another real caller behind the same proxy is not locked out
