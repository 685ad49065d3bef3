"""Rows inserted with SQL written here, for the statements a STOW-RS request runs every time.

The ORM's insert path costs a one-object STOW request more CPU than its database work: for two
audit rows, `bulk_create` builds an UNNEST statement whose array parameters psycopg inspects
element by element, and every statement sent with client-side binding has each parameter quoted
into its text (psycopg's ClientCursor, Django's default) and is planned anew by PostgreSQL.
Here the same rows (`insert_values`: the columns and values Django's own insert prepares) go out
as plain `INSERT ... VALUES` text built once per shape and, on PostgreSQL, as server-side
prepared statements: parameters travel apart from the text, and the plan is made once per
connection (decision 0129).
"""

from __future__ import annotations

import select
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    models,
)


def insert_values(obj: models.Model) -> tuple[list[str], list[Any]]:
    """An unsaved row's quoted columns and their database values, as Django's insert prepares
    them (defaults, auto_now_add, JSON adaptation); the primary key is left to the database."""
    # The wrapper itself, looked up once: `connection` is a proxy that finds this thread's
    # wrapper again on every attribute read (~100 reads per STOW request went through it).
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    columns, values = [], []
    for field in obj._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(field.column))
        values.append(field.get_db_prep_save(field.pre_save(obj, add=True), db))
    return columns, values


@lru_cache(maxsize=32)
def _values_insert_sql(model: type[models.Model], rows: int) -> str:
    columns = [
        connection.ops.quote_name(f.column)
        for f in model._meta.concrete_fields
        if not f.primary_key
    ]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # Names from the model's metadata; every value is a parameter.
    return (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "  # noqa: S608
        f"({', '.join(columns)}) VALUES {', '.join([row] * rows)}"
    )


def values_insert(objs: Sequence[models.Model]) -> tuple[str, list[Any]]:
    """One `INSERT ... VALUES` statement for unsaved rows of one model, and its parameters."""
    params: list[Any] = []
    for obj in objs:
        params += insert_values(obj)[1]
    return _values_insert_sql(type(objs[0]), len(objs)), params


def insert_rows(objs: Sequence[models.Model]) -> None:
    """Insert unsaved rows of one model whose primary keys nobody reads afterwards (audit
    events): one prepared statement on PostgreSQL, `bulk_create` elsewhere."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        type(objs[0])._default_manager.bulk_create(objs)
        return
    execute_prepared(*values_insert(objs))


def execute_prepared(
    sql: str, params: Sequence[Any], *, resend_safe: bool = False
) -> tuple[Any, ...] | None:
    """Run one statement as a server-side prepared statement (PostgreSQL) in the connection's
    current transaction; returns its first row, if any.

    Django's own cursors bind client-side (parameters quoted into the text, the statement parsed
    and planned on every call) and turn psycopg's automatic preparation off. Here a psycopg
    RawCursor on the same connection sends the parameters apart and prepares the statement on
    its first run, so PostgreSQL parses it once per connection and, after a few runs, reuses
    its plan. It is wrapped as Django wraps its own (errors come back as Django's, e.g.
    IntegrityError for a unique-key race; execute wrappers apply) and logged as Django logs its
    own when queries are logged (DEBUG, tests' CaptureQueriesContext). A pooler
    in transaction mode must keep prepared statements per server connection (PgBouncer 1.21+,
    max_prepared_statements): docs/operations.md.

    `resend_safe`: the statement may run twice with one effect (it only reads, or it probes
    before it writes). Such a statement, when it is a whole transaction on its own (autocommit)
    and its connection dies under it (the server restarted, a firewall reset an idle
    connection), is sent once more on a new connection; one that had committed after all then
    finds its own rows and writes nothing."""
    close_if_dropped()
    try:
        return _execute_prepared(sql, params)
    except (OperationalError, InterfaceError):
        pg = connection.connection
        lost = pg is None or pg.closed or pg.broken
        alone = connection.autocommit and not connection.in_atomic_block
        if not (resend_safe and lost and alone):
            raise
        connection.close()
        return _execute_prepared(sql, params)


def close_if_dropped() -> None:
    """Django's health check (CONN_HEALTH_CHECKS) for a kept connection, without its round trip
    where the socket answers the question (decision 0130).

    Django asks with `SELECT 1` at a request's first query, which cost a one-object STOW ~0.3 ms
    here. A connection the server closed (a restart, pg_terminate_backend, idle_session_timeout)
    has its termination notice or end-of-file waiting on its socket, and an idle healthy one
    has nothing to read; so only a readable (or already broken) socket gets Django's check. A
    connection lost without a word (a reset on its next packet) fails the statement instead,
    and `execute_prepared` sends it again on a new connection."""
    pg = connection.connection
    db: Any = connection  # the PostgreSQL wrapper: Django's stubs lack the health-check flags
    if pg is None or not db.health_check_enabled or db.health_check_done:
        return
    if pg.closed or pg.broken or socket_has_data(pg.fileno()):
        connection.close_if_health_check_failed()
    db.health_check_done = True


def socket_has_data(fd: int) -> bool:
    """Whether something (a notice, end-of-file) waits to be read on `fd`; never blocks. poll,
    not select: a busy process's descriptors may be numbered above select's 1024."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    try:
        return bool(poller.poll(0))
    except OSError:
        return True  # cannot tell: let Django's check decide


def _execute_prepared(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    connection.ensure_connection()
    pg = connection.connection
    if pg.prepare_threshold is None:
        # Django sets None (no automatic preparation), which refuses explicit preparation too.
        # Its own cursors bind client-side and never prepare, whatever this says; a threshold
        # no statement reaches leaves every other statement unprepared.
        pg.prepare_threshold = 2**31 - 1
    started = time.monotonic()
    with connection.make_cursor(_preparing_cursor()(pg)) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone() if cursor.description is not None else None
    if connection.queries_logged:
        # As Django's debug cursor logs its own (it cannot read a prepared statement's text
        # back from psycopg): the statement with its values, and how long it took.
        connection.queries_log.append(
            {
                "sql": connection.ops.compose_sql(sql, params),  # type: ignore[attr-defined]
                "time": f"{time.monotonic() - started:.3f}",
            }
        )
    return row


@lru_cache(maxsize=1)
def _preparing_cursor() -> type:
    import psycopg

    class PreparingCursor(psycopg.RawCursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs.setdefault("prepare", True)
            return super().execute(_numbered(query), params, **kwargs)

    return PreparingCursor


@lru_cache(maxsize=64)
def _numbered(sql: str) -> str:
    """`%s` placeholders as PostgreSQL's `$1, $2, ...`, converted once per statement text:
    psycopg converts them on every call for texts over 4 KB (a new study's statement is ~5 KB),
    which cost more than the statement's database work. The texts here hold no other `%`."""
    pieces = sql.split("%s")
    if any("%" in piece for piece in pieces):
        raise ValueError("only %s placeholders are supported here")
    return "".join(f"{piece}${n}" for n, piece in enumerate(pieces[:-1], 1)) + pieces[-1]
