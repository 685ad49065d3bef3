"""Bad configuration fails fast with one clear line on stderr, never a traceback wall.

Each case runs the real entry point (manage.py, the Celery worker, the ASGI/WSGI import) as a
subprocess, the way an admin or a container would start it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def closed_port() -> int:
    """A port nothing listens on: bind, read the number, close."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(args: list[str], **env_changes: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "platform"), str(REPO)])
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("radloop: configuration error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_production_without_a_secret_key_refuses_to_start_manage_py() -> None:
    result = run(
        [PYTHON, "manage.py", "check"],
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=None,
        ALLOWED_HOSTS="radloop.example.org",
    )
    assert_one_line(result, "SECRET_KEY must be set in production")


def test_production_without_allowed_hosts_refuses_to_start_manage_py() -> None:
    result = run(
        [PYTHON, "manage.py", "check"],
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="a-long-random-string-for-this-test-only",
        ALLOWED_HOSTS=None,
    )
    assert_one_line(result, "ALLOWED_HOSTS must be set in production")


@pytest.mark.parametrize("module", ["config.asgi", "config.wsgi"])
def test_production_without_a_secret_key_refuses_to_load_the_web_application(module: str) -> None:
    result = run(
        [PYTHON, "-c", f"import {module}"],
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=None,
    )
    assert_one_line(result, "SECRET_KEY must be set in production")


def test_production_without_a_secret_key_refuses_to_start_a_celery_worker() -> None:
    result = run(
        [PYTHON, "-m", "celery", "-A", "config", "worker", "--pool=solo"],
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=None,
    )
    assert_one_line(result, "SECRET_KEY must be set in production")


def test_an_unreachable_database_is_named_in_one_line_by_manage_py() -> None:
    port = closed_port()
    result = run(
        [PYTHON, "manage.py", "migrate"],
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/radloop_nowhere",
    )
    assert_one_line(result, "cannot reach the database", f"127.0.0.1:{port}", "DATABASE_URL")


def test_a_celery_worker_with_redis_down_exits_with_one_line() -> None:
    port = closed_port()
    result = run(
        [PYTHON, "-m", "celery", "-A", "config", "worker", "--pool=solo"],
        REDIS_URL_TEST=f"redis://127.0.0.1:{port}/0",
    )
    assert_one_line(result, "cannot reach Redis", f"127.0.0.1:{port}")


def test_a_celery_worker_with_an_unreachable_database_exits_with_one_line() -> None:
    port = closed_port()
    result = run(
        [PYTHON, "-m", "celery", "-A", "config", "worker", "--pool=solo"],
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/radloop_nowhere",
    )
    assert_one_line(result, "cannot reach the database", f"127.0.0.1:{port}")


def test_other_errors_keep_their_traceback() -> None:
    """The hook is narrow: a genuine bug still shows where it happened."""
    result = run([PYTHON, "-c", "import config; raise ValueError('a real bug')"])
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ValueError: a real bug" in result.stderr
