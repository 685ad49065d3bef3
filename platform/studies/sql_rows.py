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

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, models


def insert_values(obj: models.Model) -> tuple[list[str], list[Any]]:
    """An unsaved row's quoted columns and their database values, as Django's insert prepares
    them (defaults, auto_now_add, JSON adaptation); the primary key is left to the database."""
    columns, values = [], []
    for field in obj._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        values.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection))
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


def execute_prepared(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
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
    max_prepared_statements): docs/operations.md."""
    # As Django's own cursor() does first: a kept connection that died (a database restart) is
    # replaced before this request uses it (CONN_HEALTH_CHECKS), not failed with it.
    connection.close_if_health_check_failed()
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
