"""The demo's admin and doctor accounts: random passwords on first run, the same ones after.

The passwords live in a 0600 file under the data folder so `make run` can print them every time.
A password someone changed later (Django admin, `changepassword`) is never overwritten.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

LOCAL_ACCOUNTS = (("admin", True), ("doctor", False))


@dataclass(frozen=True)
class LocalAccount:
    username: str
    password: str | None  # None: changed outside runlocal, so not ours to show
    superuser: bool
    created: bool


def accounts_file(data_dir: Path) -> Path:
    return data_dir / "local-accounts.json"


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    stored = json.loads(path.read_text())
    return {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}


def _write(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Create with 0600 from the start: the file must never be readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(passwords, handle, indent=2)
    path.chmod(0o600)


def new_password(user: Any) -> str:
    """A random password that passes AUTH_PASSWORD_VALIDATORS for this user (a 16-character
    token nearly always does; the bound only guards against a freak all-digit draw)."""
    for _ in range(20):
        password = secrets.token_urlsafe(12)
        try:
            validate_password(password, user)
        except ValidationError:
            continue
        return password
    raise RuntimeError("could not draw a password that passes the validators")


def ensure_local_accounts(data_dir: Path) -> list[LocalAccount]:
    path = accounts_file(data_dir)
    passwords = _read(path)
    user_model = get_user_model()
    accounts = []
    for username, superuser in LOCAL_ACCOUNTS:
        user: AbstractUser | None = user_model.objects.filter(username=username).first()
        stored = passwords.get(username)
        if user is None:
            password = stored or new_password(user_model(username=username))
            email = f"{username}@radloop.local"
            if superuser:
                user_model.objects.create_superuser(username, email, password)
            else:
                user_model.objects.create_user(username, email, password)
            passwords[username] = password
            accounts.append(LocalAccount(username, password, superuser, created=True))
        elif stored and user.check_password(stored):
            accounts.append(LocalAccount(username, stored, superuser, created=False))
        else:
            accounts.append(LocalAccount(username, None, superuser, created=False))
    _write(path, passwords)
    return accounts
