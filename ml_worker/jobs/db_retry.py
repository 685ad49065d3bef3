"""Short database operations of a job, retried through a transient database error.

"database is locked" on SQLite (a lock held past the busy timeout) and a dropped PostgreSQL
connection (restart, failover, idle cut) are worth waiting out: the job's minutes of training are
not lost to one failed UPDATE. Each retry closes this thread's connection first, so Django opens
a fresh one; the waits are bounded (0.5 + 1 + 2 + 4 + 8 s) and the last error is raised, after
which the run is marked failed as any other failure (docs/decisions/0140).

Only for short, idempotent operations outside a transaction (a conditional UPDATE, a read, a
short atomic block of its own): never around torch work, never inside an atomic block.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

DB_HICCUPS = (OperationalError, InterfaceError)
RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)

P = ParamSpec("P")
R = TypeVar("R")


def with_db_retry(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call fn; on a transient database error close the connection, wait, call it again."""
    for delay in RETRY_DELAYS_S:
        try:
            return fn(*args, **kwargs)
        except DB_HICCUPS as exc:
            if connection.in_atomic_block:
                raise  # the caller's transaction is broken: only it can start over
            logger.warning("%s: %s; retrying in %.1f s", getattr(fn, "__name__", fn), exc, delay)
            with contextlib.suppress(*DB_HICCUPS):  # already gone: the next query reconnects
                connection.close()
            time.sleep(delay)
    return fn(*args, **kwargs)
