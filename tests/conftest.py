"""Shared fixtures: the cast (tests/cast.py) and real services (PostgreSQL/SQLite, Redis,
a Celery worker process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Before anything loads torch's OpenMP: idle OpenMP threads sleep instead of spinning. The suite
# runs two xdist workers (and their Celery workers and bench subprocesses) on two cores; spinning
# threads of one torch process steal the cores the other's threads wait for, and a training test
# ran 20x slower beside another than alone.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
from django.conf import settings

from tests import cast as cast_module
from tests.cast import Cast

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RADLOOP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
ML_TESTS = REPO_ROOT / "tests" / "ml"
ARTIFACTS = Path(os.environ.get("RADLOOP_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))


def pytest_configure(config: pytest.Config) -> None:
    # pytest-django's live_server is Django's development server, which writes a response's
    # headers and body in two sends. With Nagle's algorithm on, the body waits for the client's
    # delayed ACK of the headers: ~40 ms added to every request (a token GET of the project list
    # took 76 ms through it, 34 ms with this; Schemathesis and the browser tests send thousands).
    # The product serves through gunicorn, which does not stall so; only the tests' server needs it.
    from django.core.servers.basehttp import WSGIRequestHandler

    WSGIRequestHandler.disable_nagle_algorithm = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.db import connection

    skip_pg = pytest.mark.skip(reason="needs PostgreSQL row locks (DATABASE_URL is SQLite)")
    if connection.vendor != "postgresql":
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip_pg)
    for item in items:
        if Path(item.path).is_relative_to(ML_TESTS):
            # ml_worker never imports Django, so neither may its tests: they give the same
            # result on every database, and `make test-sqlite` leaves them to the PostgreSQL pass.
            if "django_db" in item.keywords or {"db", "transactional_db"} & set(
                getattr(item, "fixturenames", ())
            ):
                raise pytest.UsageError(f"{item.nodeid}: tests/ml must not use the database")
            item.add_marker(pytest.mark.database_free)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    """A one-off extra account beside the cast (password tests.cast.PASSWORD)."""
    return cast_module.make_user


@pytest.fixture
def cast(db: None) -> Cast:
    """The personas of tests/cast.py (alice, rita, anna, ben, erin, olga, otto, sam)."""
    return Cast()


@pytest.fixture
def alice(cast: Cast) -> Any:
    """Admin of the project under test."""
    return cast.alice


@pytest.fixture
def rita(cast: Cast) -> Any:
    """Reviewer."""
    return cast.rita


@pytest.fixture
def anna(cast: Cast) -> Any:
    """Annotator (the doctor of the browser tests)."""
    return cast.anna


@pytest.fixture
def ben(cast: Cast) -> Any:
    """A second annotator."""
    return cast.ben


@pytest.fixture
def erin(cast: Cast) -> Any:
    """An annotator who may export."""
    return cast.erin


@pytest.fixture
def olga(cast: Cast) -> Any:
    """Admin of another project."""
    return cast.olga


@pytest.fixture
def otto(cast: Cast) -> Any:
    """An account in no project."""
    return cast.otto


@pytest.fixture
def sam(cast: Cast) -> Any:
    """A superuser in no project."""
    return cast.sam


def _worker_env() -> dict[str, str]:
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    env["RADLOOP_DATA_DIR"] = str(settings.DATA_DIR)
    env["REDIS_URL"] = settings.REDIS_URL
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "platform"), str(REPO_ROOT)])
    env["OMP_NUM_THREADS"] = "2"
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process on the test database and the test Redis database.

    The queue is purged first so a task left by an earlier test cannot run against this one.
    SQLite in-memory test databases are invisible to another process, so these tests need
    PostgreSQL or a file-backed SQLite database.
    """
    from django.db import connection

    if (connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"])) or (
        connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict["NAME"])
    ):
        pytest.skip("a worker process cannot see an in-memory SQLite test database")
    from config.celery import app

    app.control.purge()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "default,train,infer",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=REPO_ROOT,
        env=_worker_env(),
    )
    # Generous: a worker imports torch, and on a loaded 2-core machine that alone can take a minute.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with {proc.returncode}")
        if app.control.ping(timeout=0.5):
            break
    else:
        proc.kill()
        raise RuntimeError("celery worker did not answer a ping within 180 s")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    return path
