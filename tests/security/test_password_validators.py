"""Passwords like the username or made of digits only are refused; the generated demo passwords
(runlocal) pass the same validators."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from core.local.accounts import ensure_local_accounts

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "password",
    [
        "drsmith2024",  # the username with a year
        "drsmith",  # the username itself
        "4815162342",  # digits only
        "20250101123456",  # a long all-digit date
        "Xk3!",  # too short
        "password123",  # common
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    user = get_user_model()(username="drsmith", email="drsmith@hospital.test")

    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_random_passphrase_is_accepted() -> None:
    user = get_user_model()(username="drsmith", email="drsmith@hospital.test")

    validate_password("lantern-orbit-Quill-58", user)


def test_the_admin_set_password_form_refuses_the_username(make_user) -> None:
    from django.test import Client

    admin = Client()
    admin.force_login(make_user("root", superuser=True))
    doctor = make_user("drsmith")

    response = admin.post(
        f"/admin/auth/user/{doctor.pk}/password/",
        {"password1": "drsmith2024", "password2": "drsmith2024"},
    )

    assert response.status_code == 200  # the form again, with the validator's message
    assert b"too similar" in response.content
    doctor.refresh_from_db()
    assert doctor.check_password("pw")


def test_runlocal_demo_passwords_pass_the_validators(tmp_path) -> None:
    accounts = ensure_local_accounts(tmp_path)

    users = {u.username: u for u in get_user_model().objects.all()}
    for account in accounts:
        assert account.created and account.password
        validate_password(account.password, users[account.username])
