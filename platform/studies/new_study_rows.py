"""A new study's rows (patient, study, series, instance) and the request's audit events, written
by one SQL statement on PostgreSQL: the hot path of a STOW-RS request (decisions 0126, 0129).

Two forms, both chains of data-modifying CTEs where each child's foreign key is a scalar
subquery on its parent's RETURNING:
- `insert_new_study`: inside the object's transaction, after `lookup` said the study is new.
- `insert_if_new`: the lookup's probes and the inserts together, guarded so that the inserts
  happen only when the object's instance is new and either its series and study are new too or
  its series is known in its study (then only the instance, and the study's modalities when the
  object adds one). Run on its own in autocommit it is the whole transaction of a one-object
  STOW: one round trip instead of five (BEGIN, lookup, inserts, COMMIT).

Rows are built as model objects first, so defaults and column values are exactly those Django
would insert; no model here overrides save() or listens to its signals (inserts in bulk already
skip both). Same rows, same constraints as the ORM path: a unique-key race fails the statement,
and nothing of it stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any

import pydicom
from django.db import connection
from django.db.models import Model

from studies.indexing import (
    Known,
    folded_lookup_sql,
    patient_row,
    series_row,
    study_row,
    text,
)
from studies.models import AuditEvent, Instance, Patient, Series, Study
from studies.sql_rows import execute_prepared, insert_values, values_insert

Events = Callable[[], Sequence[Model]]
# (CTE name, row, the foreign key filled from the previous CTE's id, or None)
_Rows = list[tuple[str, Any, str | None]]


def _rows(ds: pydicom.Dataset, instance: Instance, new_patient: bool) -> _Rows:
    modality = text(ds, "Modality", 16)
    rows: _Rows = [
        ("new_study", study_row(ds, modality, None), "patient"),
        ("new_series", series_row(ds, modality), "study"),
        ("new_instance", instance, "series"),
    ]
    if new_patient:
        rows.insert(0, ("new_patient", patient_row(ds), None))
    return rows


def _link(rows: _Rows) -> None:
    """Each child row's foreign key to its parent object (again once the ids are known: each
    foreign key column then takes its parent's id)."""
    for (_, parent, _), (_, child, field) in pairwise(rows):
        assert field is not None
        setattr(child, field, parent)


def _saved(rows: _Rows, ids: Sequence[Any]) -> None:
    for (_, obj, _), pk in zip(rows, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias
    _link(rows)


def insert_new_study(
    ds: pydicom.Dataset, known: Known, instance: Instance, events: Events | None = None
) -> Series:
    """A new study's rows, in the caller's transaction: its patient when `known` has none, the
    study, the series and `instance` (unsaved, its series unset), and the audit rows `events()`
    gives (called once the instance is linked to its unsaved series). One round trip where
    `index_series`, `instance.save` and the events' insert take four or five."""
    rows = _rows(ds, instance, new_patient=known.patient is None)
    if known.patient is not None:  # the study's patient is that row, not a CTE's
        rows[0] = (rows[0][0], rows[0][1], None)
        rows[0][1].patient_id = known.patient
    _link(rows)
    written = list(events()) if events is not None else []
    quote = connection.ops.quote_name
    ctes: list[str] = []
    params: list[Any] = []
    previous = ""
    for name, obj, parent in rows:
        columns, values = insert_values(obj)
        placeholders = ["%s"] * len(values)
        if parent is not None:
            # The parent's id from the CTE before; its placeholder and its (unset) value go.
            index = columns.index(quote(obj._meta.get_field(parent).column))
            placeholders[index] = f"(SELECT id FROM {previous})"  # noqa: S608
            del values[index]
        table, pk = quote(obj._meta.db_table), quote(obj._meta.pk.column)
        # Names from the models' metadata and constant CTE names; every value is a parameter.
        ctes.append(
            f"{name} AS (INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join(placeholders)}) RETURNING {pk} AS id)"
        )
        params += values
        previous = name
    if written:
        # Written with the rows, in the same statement; nobody reads their ids.
        insert, values = values_insert(written)
        ctes.append(f"new_events AS ({insert})")
        params += values
    ids = ", ".join(f"(SELECT id FROM {name})" for name, _, _ in rows)  # noqa: S608
    returned = execute_prepared(f"WITH {', '.join(ctes)} SELECT {ids}", params)
    assert returned is not None  # a SELECT of scalar subqueries returns one row
    _saved(rows, returned)
    return instance.series


def insert_if_new(ds: pydicom.Dataset, instance: Instance, events: Events) -> Known | None:
    """Insert the object's rows and `events()` when its instance is new and either its series
    and study are new too (its patient is then found by Patient ID, or new) or its series is
    known in the object's study (the instance joins it; the study's modalities gain the object's
    if it is not among them). None when inserted (`instance` then saved and linked to its saved
    series: the new one, or the known one with only its id, UID and study loaded); otherwise the
    rows that exist, and nothing written (`events()` is called either way). One statement: in
    autocommit, its own transaction."""
    patient_id = text(ds, "PatientID", 64)
    rows = _rows(ds, instance, new_patient=True)
    _link(rows)
    written = list(events())
    params: list[Any] = [str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID)]
    params.append(str(ds.StudyInstanceUID))
    if patient_id:
        params += [patient_id, text(ds, "IssuerOfPatientID", 64)]
    for _, obj, parent in rows:
        columns, values = insert_values(obj)
        if parent is not None:
            del values[columns.index(connection.ops.quote_name(obj._meta.get_field(parent).column))]
        params += values
    for event in written:
        params += insert_values(event)[1]
    params += [text(ds, "Modality", 16)] * 3  # the placeholders of `add_modality`
    found = execute_prepared(_guarded_sql(bool(patient_id), len(written)), params, resend_safe=True)
    assert found is not None  # one row, always
    probed = 4 if patient_id else 3
    patient_pk = found[3] if patient_id else None
    known = Known(instance=found[0], series=found[1], study=found[2], patient=patient_pk)
    ids = found[probed:]
    if ids[-1] is None:  # nothing inserted: something of the object exists
        return known
    if known.series is not None:  # the instance joined its known series
        instance.pk = ids[-1]
        instance._state.adding, instance._state.db = False, connection.alias
        # Only what is known for certain; any other field loads from the row when read.
        instance.series = Series.from_db(
            connection.alias,
            ["id", "series_instance_uid", "study_id"],
            [known.series, str(ds.SeriesInstanceUID), known.study],
        )
        return None
    if known.patient is not None:  # the study joined the patient found, not a new one
        rows[1][1].patient_id = known.patient
        rows = rows[1:]
        ids = ids[1:]
    _saved(rows, [pk for pk in ids if pk is not None])
    return None


@lru_cache(maxsize=8)
def _guarded_sql(with_patient: bool, events: int) -> str:
    """The statement of `insert_if_new` (its text depends only on these two; PostgreSQL plans
    it once per connection). Every value is a parameter with an explicit cast: in a SELECT
    list (unlike VALUES) a parameter does not take the target column's type."""
    quote = connection.ops.quote_name
    known_columns = ["instance", "series", "study", "patient"][: 4 if with_patient else 3]
    probes = folded_lookup_sql(with_patient)[len("SELECT ") :]
    ctes = [f"known ({', '.join(known_columns)}) AS (SELECT {probes})"]
    patient = "known.patient" if with_patient else "NULL::bigint"
    series_table = quote(Series._meta.db_table)
    study_column = quote(Series._meta.get_field("study").column)
    ctes += [
        # A row only when the object's instance, series and study are all new ...
        f"go AS (SELECT {patient} AS patient FROM known "  # noqa: S608
        "WHERE known.instance IS NULL AND known.series IS NULL AND known.study IS NULL)",
        # ... or when its instance is new and its series is known, in the object's study.
        f"joins AS (SELECT known.series AS id, known.study FROM known "  # noqa: S608
        f"WHERE known.instance IS NULL AND EXISTS (SELECT 1 FROM {series_table} "
        f'WHERE "id" = known.series AND {study_column} = known.study))',
    ]
    chain: list[tuple[str, type[Model], str | None]] = [
        ("new_patient", Patient, None),
        ("new_study", Study, "patient"),
        ("new_series", Series, "study"),
        ("new_instance", Instance, "series"),
    ]
    for name, model, parent in chain:
        selects = []
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            if parent is not None and field.name == parent:
                selects.append(_PARENT[parent])
            else:
                selects.append(f"%s::{_cast(field)}")
        columns = [quote(f.column) for f in model._meta.concrete_fields if not f.primary_key]
        source = {"new_patient": "go WHERE go.patient IS NULL", "new_instance": "into_series"}
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        if name == "new_instance":
            ctes.append("into_series AS (SELECT id FROM new_series UNION ALL SELECT id FROM joins)")
        # Names from the models' metadata and constant CTE names; every value is a parameter.
        ctes.append(
            f"{name} AS (INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"SELECT {', '.join(selects)} FROM {source.get(name, 'go')} RETURNING {pk} AS id)"
        )
    if events:
        fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
        row = "(" + ", ".join(f"%s::{_cast(f)}" for f in fields) + ")"
        names = ", ".join(quote(f.column) for f in fields)
        ctes.append(
            f"new_events AS (INSERT INTO {quote(AuditEvent._meta.db_table)} ({names}) "  # noqa: S608
            f"SELECT v.* FROM new_instance, (VALUES {', '.join([row] * events)}) AS v)"
        )
    ctes.append(_add_modality_sql())
    ids = ", ".join(f"(SELECT id FROM {name})" for name, _, _ in chain)  # noqa: S608
    found = ", ".join(f"known.{column}" for column in known_columns)
    return f"WITH {', '.join(ctes)} SELECT {found}, {ids} FROM known"  # noqa: S608


# A new row's foreign key to its parent, in the statement of `insert_if_new`.
_PARENT = {
    "patient": "COALESCE(go.patient, (SELECT id FROM new_patient))",
    "study": "(SELECT id FROM new_study)",
    "series": "into_series.id",
}


def _add_modality_sql() -> str:
    """The study's modalities gain the object's (three placeholders, each the Modality) when
    the instance joins a known series, as `indexing._add_modality` does: backslash-separated,
    sorted by code point (COLLATE "C", as Python sorts), empty values left out."""
    table = connection.ops.quote_name(Study._meta.db_table)
    column = connection.ops.quote_name(Study._meta.get_field("modalities").column)
    current = f"string_to_array({table}.{column}, '\\')"
    return (
        f"add_modality AS (UPDATE {table} SET {column} = ("  # noqa: S608
        f"SELECT string_agg(m, '\\' ORDER BY m COLLATE \"C\") FROM (SELECT DISTINCT m "
        f"FROM unnest(array_append({current}, %s::text)) AS m WHERE m <> '') AS modalities) "
        f"FROM joins, new_instance WHERE {table}.id = joins.study AND %s::text <> '' "
        f"AND NOT (%s::text = ANY({current})))"
    )


def _cast(field: Any) -> str:
    # The column's type without its length: a cast to varchar(64) would cut a longer value
    # silently, where the insert's own assignment refuses it (as the ORM's insert does).
    if field.is_relation:
        return str(field.target_field.rel_db_type(connection))
    return str(field.db_type(connection)).split("(")[0]
