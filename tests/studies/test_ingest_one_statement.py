"""A new study's object outside a project is stored by one prepared statement on PostgreSQL
(studies.new_study_rows.insert_if_new, decision 0129): its probes, its rows and its audit events
together, in autocommit its own transaction. What it must keep from the ordinary path: the same
rows and links, nothing written when any of the object already exists (the ordinary path then
decides), no file left behind by an object it did not store, and a caller's transaction left
usable when it fails."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pydicom
import pytest
from django.db import DataError, connection, transaction
from pydicom.uid import generate_uid

from studies.ingest import ingest_bytes
from studies.models import AuditEvent, Instance, Patient, Series, Study
from studies.new_study_rows import insert_if_new
from tests.studies.ingest_support import (
    pydicom_file,
    rewrite,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("store_dir"),
]

CT = pydicom_file("CT_small.dcm")


def new_object(study: str = "", series: str = "", patient: str | None = None) -> bytes:
    return rewrite(
        CT,
        StudyInstanceUID=study or generate_uid(),
        SeriesInstanceUID=series or generate_uid(),
        SOPInstanceUID=generate_uid(),
        PatientID=f"P-{generate_uid()[-12:]}" if patient is None else patient,
    )


class Sent:
    def __init__(self) -> None:
        self.statements: list[tuple[str, bool]] = []  # (sql, inside a transaction)

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)


@pytest.fixture
def user(make_user: Any) -> Any:
    return make_user("operator", superuser=True)


def test_a_new_study_is_one_autocommitted_statement_with_its_rows_and_event(user: Any) -> None:
    sent = Sent()
    with connection.execute_wrapper(sent):
        outcome = ingest_bytes(new_object(), user=user, finish=lambda o, events: events)
    assert outcome.status == "stored" and outcome.finished
    assert len(sent.statements) == 1 and sent.statements[0][1] is False, sent.statements
    instance = Instance.objects.select_related("series__study__patient").get()
    # The returned object carries the ids the database gave, linked as the ORM would link them.
    assert outcome.instance is not None
    assert outcome.instance.pk == instance.pk
    assert outcome.instance.series_id == instance.series_id
    assert outcome.instance.series.study_id == instance.series.study_id
    assert outcome.instance.series.study.patient_id == instance.series.study.patient_id
    assert instance.series.series_instance_uid == outcome.instance.series.series_instance_uid
    assert instance.frame_offsets == outcome.instance.frame_offsets
    assert instance.series.study.modalities == "CT"
    event = AuditEvent.objects.get()
    assert (event.action, event.user, event.study_instance_uid) == (
        "ingest",
        user,
        outcome.study_instance_uid,
    )
    assert event.detail["sop_instance_uid"] == instance.sop_instance_uid


def test_the_study_joins_a_known_patient_and_an_object_without_one_gets_its_own() -> None:
    assert ingest_bytes(new_object(patient="KNOWN")).status == "stored"
    assert ingest_bytes(new_object(patient="KNOWN")).status == "stored"
    assert Patient.objects.filter(patient_id="KNOWN").count() == 1
    assert Study.objects.filter(patient__patient_id="KNOWN").count() == 2
    for _ in range(2):
        assert ingest_bytes(new_object(patient="")).status == "stored"
    assert Patient.objects.filter(patient_id="").count() == 2


def test_an_object_of_a_known_series_joins_it_in_one_statement(user: Any) -> None:
    study, series = generate_uid(), generate_uid()
    first = ingest_bytes(new_object(study, series), user=user)
    sent = Sent()
    with connection.execute_wrapper(sent):
        outcome = ingest_bytes(new_object(study, series), user=user)
    assert outcome.status == "stored"
    assert len(sent.statements) == 1 and sent.statements[0][1] is False, sent.statements
    assert (Study.objects.count(), Series.objects.count(), Instance.objects.count()) == (1, 1, 2)
    assert AuditEvent.objects.filter(action="ingest").count() == 2
    assert outcome.instance is not None and first.instance is not None
    assert Instance.objects.get(pk=outcome.instance.pk).series_id == first.instance.series_id
    # The series it joined carries its id, UID and study; anything else loads from its row.
    joined = outcome.instance.series
    assert (joined.pk, joined.study_id) == (
        first.instance.series_id,
        first.instance.series.study_id,
    )
    assert joined.modality == "CT" and joined.study.study_instance_uid == study


def test_an_object_of_another_modality_adds_it_to_the_studys_modalities() -> None:
    study, series = generate_uid(), generate_uid()
    assert ingest_bytes(new_object(study, series)).status == "stored"
    mr = rewrite(
        CT,
        StudyInstanceUID=study,
        SeriesInstanceUID=series,
        SOPInstanceUID=generate_uid(),
        Modality="MR",
    )
    assert ingest_bytes(mr).status == "stored"
    assert ingest_bytes(new_object(study, series)).status == "stored"  # CT again: no change
    assert Study.objects.get().modalities == "CT\\MR"
    assert Series.objects.get().modality == "CT"  # first writer's attributes win


def test_a_series_uid_reused_under_another_study_is_left_to_the_ordinary_path() -> None:
    series = generate_uid()
    assert ingest_bytes(new_object(series=series)).status == "stored"
    sent = Sent()
    with connection.execute_wrapper(sent):
        outcome = ingest_bytes(new_object(series=series))  # a new study, the same series UID
    assert outcome.status == "stored"
    # The statement wrote nothing; the ordinary transaction indexed the study (decision 0180).
    assert sent.statements[0][0].startswith("WITH known") and sent.statements[0][1] is False
    assert all(inside for _, inside in sent.statements[1:]), sent.statements
    assert (Study.objects.count(), Series.objects.count(), Instance.objects.count()) == (2, 1, 2)


def test_a_resend_is_a_duplicate_and_a_conflicting_object_leaves_no_file() -> None:
    data = new_object()
    assert ingest_bytes(data).status == "stored"
    files = stored_files()
    assert ingest_bytes(data).status == "duplicate"
    assert stored_files() == files
    # Same SOP Instance UID, other bytes: the statement placed its file before it knew; the
    # ordinary path reports the conflict, and the file goes again.
    from pydicom import dcmread
    from pydicom.filebase import DicomBytesIO

    ds = dcmread(DicomBytesIO(data))
    other = rewrite(
        CT,
        **{k: str(ds[k].value) for k in ("StudyInstanceUID", "SeriesInstanceUID")},
        SOPInstanceUID=str(ds.SOPInstanceUID),
        PatientID="OTHER",
    )
    outcome = ingest_bytes(other)
    assert outcome.status == "conflict", outcome.reason
    assert stored_files() == files
    assert Instance.objects.count() == 1


def test_a_failed_statement_leaves_a_callers_transaction_usable_and_no_file(
    monkeypatch: Any, user: Any
) -> None:
    """Inside a caller's transaction the statement runs in a savepoint: a value the database
    refuses (here an audit action longer than its column) fails the object, not the caller's
    transaction, and the object's file is removed."""
    import studies.ingest

    event = studies.ingest.ingest_event

    def too_long(*args: Any) -> Any:
        made = event(*args)
        made.action = "x" * 41  # the column holds 40: refused by the insert, not cut
        return made

    monkeypatch.setattr(studies.ingest, "ingest_event", too_long)
    with transaction.atomic():
        with pytest.raises(DataError):
            ingest_bytes(new_object(), user=user)
        assert Instance.objects.count() == 0  # the transaction still answers
    assert stored_files() == []
    assert (Patient.objects.count(), Study.objects.count(), AuditEvent.objects.count()) == (0, 0, 0)


def test_nothing_is_written_when_the_instance_exists() -> None:
    data = new_object()
    assert ingest_bytes(data).status == "stored"
    instance = Instance.objects.get()
    from pydicom import dcmread
    from pydicom.filebase import DicomBytesIO

    ds = dcmread(DicomBytesIO(data))
    events_called: list[int] = []

    def events() -> list[Any]:
        events_called.append(1)
        return [AuditEvent(action="ingest", study_instance_uid="x")]

    fresh = Instance(
        **{
            f.attname: getattr(instance, f.attname)
            for f in Instance._meta.concrete_fields
            if not f.primary_key
        }
    )
    fresh.series_id = None
    known = insert_if_new(ds, fresh, events)
    assert known is not None and known.instance == instance.pk
    assert known.series == instance.series_id and known.study == instance.series.study_id
    assert events_called == [1]
    assert (Instance.objects.count(), Study.objects.count(), AuditEvent.objects.count()) == (
        1,
        1,
        0,
    )


def test_the_statement_is_prepared_once_per_connection() -> None:
    """Server-side binding with preparation (sql_rows.execute_prepared): PostgreSQL parses the
    statement once on a connection and then only binds and executes it."""
    for _ in range(3):
        assert ingest_bytes(new_object()).status == "stored"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["WITH known (instance, series, study, patient) AS%"],
        )
        assert cursor.fetchone() == (1,)


def _terminate(backend: int) -> None:
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [backend]).fetchone() == (True,)


def test_a_connection_the_database_dropped_is_replaced_before_the_statement() -> None:
    """The statement skips Django's cursor(), not its health check: after a database restart a
    kept connection is replaced (CONN_HEALTH_CHECKS), and the object is stored, not failed."""
    connection.ensure_connection()
    connection.health_check_enabled = True  # as with DB_CONN_MAX_AGE > 0
    backend = connection.connection.info.backend_pid
    _terminate(backend)
    connection.health_check_done = False  # a new request
    assert ingest_bytes(new_object()).status == "stored"
    assert connection.connection.info.backend_pid != backend


def _until_readable(fd: int) -> None:
    """Wait (at most 5 s) for the terminated backend's notice to reach the socket."""
    import select

    assert select.select([fd], [], [], 5.0)[0], "the terminated backend sent nothing"


def test_a_healthy_kept_connection_is_not_asked_select_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's health check costs a round trip per request; an idle socket with nothing to
    read answers it for free (sql_rows.close_if_dropped, decision 0130)."""
    from django.db import connections

    asked: list[bool] = []
    wrapper = type(connections["default"])
    real = wrapper.is_usable

    def is_usable(self: Any) -> bool:
        asked.append(True)
        return real(self)

    connection.ensure_connection()
    connection.health_check_enabled = True  # as with DB_CONN_MAX_AGE > 0
    backend = connection.connection.info.backend_pid
    monkeypatch.setattr(wrapper, "is_usable", is_usable)
    for _ in range(3):
        connection.health_check_done = False  # a new request
        assert ingest_bytes(new_object()).status == "stored"
    assert asked == []
    assert connection.connection.info.backend_pid == backend


def test_a_dropped_connection_with_its_notice_waiting_gets_djangos_check() -> None:
    connection.ensure_connection()
    connection.health_check_enabled = True
    backend = connection.connection.info.backend_pid
    _terminate(backend)
    _until_readable(connection.connection.fileno())
    connection.health_check_done = False
    assert ingest_bytes(new_object()).status == "stored"
    assert connection.connection.info.backend_pid != backend


def test_a_connection_lost_without_a_word_is_replaced_and_the_statement_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connection reset on its next packet looks healthy from the socket: the statement fails
    on it and is sent once more on a new connection, storing the object exactly once."""
    from studies import sql_rows

    connection.ensure_connection()
    connection.health_check_enabled = True
    backend = connection.connection.info.backend_pid
    _terminate(backend)
    _until_readable(connection.connection.fileno())
    # The socket says nothing, as one behind a firewall that dropped it says nothing.
    monkeypatch.setattr(sql_rows, "socket_has_data", lambda fd: False)
    connection.health_check_done = False
    data = new_object()
    assert ingest_bytes(data).status == "stored"
    assert connection.connection.info.backend_pid != backend
    uid = pydicom.dcmread(BytesIO(data)).SOPInstanceUID
    assert Instance.objects.filter(sop_instance_uid=uid).count() == 1


def test_a_statement_not_safe_to_resend_fails_with_its_dropped_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import OperationalError

    from studies import sql_rows

    connection.ensure_connection()
    connection.health_check_enabled = True
    _terminate(connection.connection.info.backend_pid)
    _until_readable(connection.connection.fileno())
    monkeypatch.setattr(sql_rows, "socket_has_data", lambda fd: False)
    connection.health_check_done = False
    with pytest.raises(OperationalError):
        sql_rows.execute_prepared("SELECT 1", [])
    connection.close()  # the next request would replace it; the test's teardown needs one now


def test_the_socket_says_whether_something_waits_on_it() -> None:
    import socket

    from studies.sql_rows import socket_has_data

    ours, theirs = socket.socketpair()
    try:
        assert socket_has_data(ours.fileno()) is False  # idle and healthy
        theirs.sendall(b"N")  # a notice
        assert socket_has_data(ours.fileno()) is True
        ours.recv(1)
        theirs.close()  # the server went away: end-of-file
        assert socket_has_data(ours.fileno()) is True
    finally:
        ours.close()
