"""Accounts: login and logout pages for the browser, tokens for scripts, Django admin for admins."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def test_the_login_page_is_served_to_anonymous_visitors() -> None:
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


def test_an_anonymous_visitor_of_the_workspace_is_sent_to_the_login_page() -> None:
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_doctor_logs_in_and_lands_on_the_workspace(make_user) -> None:
    make_user("doctor")
    client = Client()

    response = client.post("/accounts/login/", {"username": "doctor", "password": "pw"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/api/v1/me").json()["username"] == "doctor"


def test_a_wrong_password_is_refused_with_a_message(make_user) -> None:
    make_user("doctor")

    response = Client().post("/accounts/login/", {"username": "doctor", "password": "nope"})

    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_logging_out_ends_the_session(make_user) -> None:
    client = Client()
    client.force_login(make_user("doctor"))

    response = client.post("/accounts/logout/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/api/v1/me").status_code in (401, 403)


def test_drf_create_token_gives_a_token_the_api_accepts(make_user) -> None:
    make_user("script")
    out = io.StringIO()

    call_command("drf_create_token", "script", stdout=out)

    key = Token.objects.get(user__username="script").key
    assert key in out.getvalue()
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["username"] == "script"


def test_a_wrong_token_is_refused() -> None:
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION="Token not-a-real-key")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Invalid token."}


def test_the_api_challenges_anonymous_callers_for_a_token() -> None:
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_admin_opens_django_admin_and_a_doctor_cannot(make_user) -> None:
    admin, doctor = Client(), Client()
    admin.force_login(make_user("admin", superuser=True))
    doctor.force_login(make_user("doctor"))

    assert admin.get("/admin/").status_code == 200
    refused = doctor.get("/admin/")
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
