"""A training run outlives a transient database error (docs/decisions/0140).

With a real Celery worker training, another real process takes the database away for a few
seconds at a time while the run writes its progress: on SQLite it holds the write lock longer
than the worker's busy timeout ("database is locked"); on PostgreSQL it terminates the worker's
connections (as a restart or failover would). The run must still succeed and become the active
model, not die and stay `running` or `queued`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from learning.models import ModelStatus, RunStatus, TrainingRun
from tests.cast import make_project
from tests.learning.test_worker_lifecycle import retrain, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Many short epochs: the run writes progress often and lasts longer than the interference.
BUSY = {"max_epochs": 40, "min_samples_per_epoch": 512, "batch_size": 32, "patience": 100}

SQLITE_LOCKER = """
import sqlite3, sys, time
path, run_id = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path, timeout=30, isolation_level=None)
def status():
    row = db.execute("SELECT status FROM learning_trainingrun WHERE id = ?", (run_id,))
    return row.fetchone()[0]
deadline = time.monotonic() + 60
while status() == "queued" and time.monotonic() < deadline:
    time.sleep(0.05)
held = 0
for _ in range(4):  # 4 x 3 s of "database is locked" for a worker that waits 1 s
    if status() != "running":
        break
    db.execute("BEGIN IMMEDIATE")
    time.sleep(3)
    db.execute("COMMIT")
    held += 1
    time.sleep(0.2)
print(held)
"""

POSTGRES_CUTTER = """
import sys, time
import psycopg
dsn, run_id = sys.argv[1], int(sys.argv[2])
db = psycopg.connect(dsn, autocommit=True)
def status():
    row = db.execute("SELECT status FROM learning_trainingrun WHERE id = %s", (run_id,))
    return row.fetchone()[0]
deadline = time.monotonic() + 60
while status() == "queued" and time.monotonic() < deadline:
    time.sleep(0.05)
held = 0
# Cut every other connection to the test database, 4 times while the run runs. A look that
# finds none (the worker between writes, or waiting to retry) looks again soon: counting looks
# instead of cuts left a fast run with a single cut. Bounded: 400 looks, 60 s.
deadline = time.monotonic() + 60
for _ in range(400):
    if held >= 4 or time.monotonic() > deadline or status() != "running":
        break
    cut = db.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND application_name NOT LIKE 'pytest%%'"
    ).fetchone()[0]
    held += 1 if cut else 0
    time.sleep(0.5 if cut else 0.05)  # after a cut, time for the worker to write again
print(held)
"""


@pytest.fixture
def impatient_worker(monkeypatch, request):  # type: ignore[no-untyped-def]
    """The worker gives up on a SQLite lock after 1 s (the default 20 s would hide the lock)."""
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_S", "1")
    return request.getfixturevalue("celery_worker")


def _interferer(run_id: int) -> subprocess.Popen[str]:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        args = [SQLITE_LOCKER, str(db["NAME"])]
    else:
        dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} "
        args = [POSTGRES_CUTTER, f"{dsn}dbname={db['NAME']}"]
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(args[0]), args[1], str(run_id)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_run_survives_the_database_going_away_while_it_writes_progress(  # type: ignore[no-untyped-def]
    make_user, impatient_worker
):
    from rest_framework.test import APIClient

    if connection.vendor == "postgresql":
        # This process's connection survives the cuts: mark it so the cutter spares it.
        with connection.cursor() as cursor:
            cursor.execute("SET application_name = 'pytest-transient-db'")
    admin = make_user("admin")
    client = APIClient()
    client.force_authenticate(admin)
    project = make_project(admin=admin, images=40, labelled=24)

    run_id = retrain(client, project, BUSY)
    interferer = _interferer(run_id)
    try:
        out, _ = interferer.communicate(timeout=90)
    finally:
        interferer.kill()
    assert int(out.strip() or 0) >= 2, "the database was not taken away while the run ran"

    def finished() -> bool:
        return TrainingRun.objects.get(pk=run_id).status not in (
            RunStatus.QUEUED,
            RunStatus.RUNNING,
        )

    wait_for(finished, timeout=120, what="the run to finish")
    run = TrainingRun.objects.get(pk=run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.model_version is not None
    assert run.model_version.status == ModelStatus.ACTIVE
    assert len(run.progress["history"]) >= 1
