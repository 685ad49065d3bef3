"""The embedded default (SQLite, WAL): a transaction that reads, then writes while another
connection commits a write in between, waits for the lock instead of failing at once.

With SQLite's default deferred BEGIN, the transaction's read snapshot goes stale when another
connection commits, and its first write then fails with "database is locked" without waiting
for the busy timeout (SQLITE_BUSY_SNAPSHOT). That is what made a doctor's submit 500 while a
training run wrote progress (docs/decisions/0140).
"""

from __future__ import annotations

import sqlite3
import threading

import pytest
from django.db import connection, transaction

from annotations.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


def _other_connection_writes(path: str, project_id: int, done: threading.Event) -> None:
    # A second connection, as the worker's progress write would be (its own busy timeout).
    other = sqlite3.connect(path, timeout=20, isolation_level=None)
    try:
        other.execute(
            "UPDATE annotations_project SET instructions = 'from the worker' WHERE id = ?",
            (project_id,),
        )
    finally:
        other.close()
        done.set()


def test_read_then_write_waits_for_a_concurrent_writer() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite transaction modes only")
    project = Project.objects.create(name="Locks", task_type="classification")
    path = str(connection.settings_dict["NAME"])
    done = threading.Event()
    with transaction.atomic():
        # The request reads first (as a submit reads the item and the lease) ...
        assert Project.objects.filter(pk=project.pk).exists()
        writer = threading.Thread(
            target=_other_connection_writes, args=(path, project.pk, done), daemon=True
        )
        writer.start()
        # ... another connection tries to write meanwhile (it waits on our lock, or commits
        # first when our transaction took no lock) ...
        writer.join(timeout=1.0)
        # ... and then the request writes. Deferred: "database is locked" right here.
        Project.objects.filter(pk=project.pk).update(name="Locks, renamed")
    writer.join(timeout=30)
    assert done.is_set()
    project.refresh_from_db()
    assert project.name == "Locks, renamed"
    assert project.instructions == "from the worker"
