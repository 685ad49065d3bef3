"""`make run` creates an admin and a doctor with random passwords once, and keeps them after."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from core.local.accounts import accounts_file, ensure_local_accounts

pytestmark = pytest.mark.django_db


def by_name(accounts):  # type: ignore[no-untyped-def]
    return {account.username: account for account in accounts}


def test_first_run_creates_an_admin_and_a_doctor_with_random_passwords(tmp_path: Path) -> None:
    accounts = by_name(ensure_local_accounts(tmp_path))

    users = get_user_model().objects
    admin, doctor = users.get(username="admin"), users.get(username="doctor")
    assert admin.is_superuser and not doctor.is_superuser and not doctor.is_staff
    assert admin.check_password(accounts["admin"].password)
    assert doctor.check_password(accounts["doctor"].password)
    assert accounts["admin"].password != accounts["doctor"].password
    assert len(accounts["doctor"].password) >= 16
    assert all(account.created for account in accounts.values())


def test_the_passwords_file_is_readable_only_by_its_owner(tmp_path: Path) -> None:
    ensure_local_accounts(tmp_path)

    mode = stat.S_IMODE(accounts_file(tmp_path).stat().st_mode)
    assert mode == 0o600


def test_a_second_run_keeps_the_same_passwords(tmp_path: Path) -> None:
    first = by_name(ensure_local_accounts(tmp_path))
    second = by_name(ensure_local_accounts(tmp_path))

    assert second["doctor"].password == first["doctor"].password
    assert second["admin"].password == first["admin"].password
    assert not any(account.created for account in second.values())
    assert get_user_model().objects.filter(username__in=["admin", "doctor"]).count() == 2


def test_a_password_changed_later_is_neither_overwritten_nor_shown(tmp_path: Path) -> None:
    ensure_local_accounts(tmp_path)
    doctor = get_user_model().objects.get(username="doctor")
    doctor.set_password("the doctor's own choice")
    doctor.save()

    accounts = by_name(ensure_local_accounts(tmp_path))

    doctor.refresh_from_db()
    assert doctor.check_password("the doctor's own choice")
    assert accounts["doctor"].password is None


def test_a_fresh_database_gets_the_kept_passwords_back(tmp_path: Path) -> None:
    first = by_name(ensure_local_accounts(tmp_path))
    get_user_model().objects.filter(username__in=["admin", "doctor"]).delete()

    again = by_name(ensure_local_accounts(tmp_path))

    assert again["doctor"].created and again["doctor"].password == first["doctor"].password
