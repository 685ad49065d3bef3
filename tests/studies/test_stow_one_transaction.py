"""A STOW-RS request commits once (decision 0125): its objects' rows, their ingest events and the
request's own `stow` event go into one transaction, and each object is parsed once. On this
machine a commit waits ~4 ms for the disk and a parse costs ~2 ms, so a regression here halves
the STOW rate long before anyone reruns bench/dicomweb.py. Every object is still all-or-nothing,
and a request whose transaction fails leaves no row and no stored file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from pydicom.uid import generate_uid

from studies.models import AuditEvent, Instance, Series, Study
from tests.studies.dicomweb_support import token_client
from tests.studies.ingest_support import (
    pydicom_file,
    rewrite,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)
from tests.studies.test_dicomweb_stow import body, post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("store_dir")]

CT = pydicom_file("CT_small.dcm")
# A new study of a known patient: on PostgreSQL one statement, its own transaction (the
# probes, the study, series and instance, the ingest and stow events: decision 0129); elsewhere
# the lookup, the three inserts and one insert of the ingest event with the request's stow event.
ONE_STATEMENT = connection.vendor == "postgresql"
STATEMENTS_PER_NEW_STUDY = 1 if ONE_STATEMENT else 5


def new_object(study: str = "", series: str = "") -> bytes:
    return rewrite(
        CT,
        StudyInstanceUID=study or generate_uid(),
        SeriesInstanceUID=series or generate_uid(),
        SOPInstanceUID=generate_uid(),
        PatientID="P-STOW",
    )


class Transactions:
    def __init__(self) -> None:
        self.commits = 0
        self.autocommitted: list[str] = []  # statements run outside a transaction (one each)
        self.statements: list[str] = []
        self.savepoints: list[str] = []  # no disk wait, but a round trip each


@contextmanager
def transactions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Transactions]:
    """What reaches the database: statements, and the commits that wait for the disk."""
    seen = Transactions()
    commit = connection.commit

    def counting_commit() -> None:
        seen.commits += 1
        commit()

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            seen.savepoints.append(sql)
        elif not sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE (decision 0140) opens it
            seen.statements.append(sql)
            if not connection.in_atomic_block:
                seen.autocommitted.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(connection, "commit", counting_commit)
    with connection.execute_wrapper(record):
        yield seen


@pytest.fixture
def admin(make_user: Any) -> Any:
    client = token_client(make_user("root", superuser=True))
    assert post(client, body(new_object())).status_code == 200  # the token and the patient
    return client


def test_a_one_part_request_is_one_commit_of_few_statements(admin: Any, monkeypatch: Any) -> None:
    with transactions(monkeypatch) as seen:
        assert post(admin, body(new_object())).status_code == 200
    if ONE_STATEMENT:  # the statement is the transaction: it commits on its own
        assert seen.commits == 0 and len(seen.autocommitted) == 1, seen.autocommitted
    else:
        assert seen.commits == 1 and seen.autocommitted == [], seen.autocommitted
    assert len(seen.statements) <= STATEMENTS_PER_NEW_STUDY, seen.statements
    assert seen.savepoints == []
    stow = AuditEvent.objects.filter(action="stow").order_by("pk").last()
    ingest = AuditEvent.objects.filter(action="ingest").order_by("pk").last()
    assert stow is not None and ingest is not None
    assert stow.study_instance_uid == ingest.study_instance_uid
    assert stow.detail["stored"] == 1 and stow.detail["failed"] == 0


def test_a_request_of_many_parts_is_one_commit_too(admin: Any, monkeypatch: Any) -> None:
    study, series = generate_uid(), generate_uid()
    parts = [new_object(study, series) for _ in range(4)]
    with transactions(monkeypatch) as seen:
        response = post(admin, body(*parts, b"not dicom", parts[0]))
    assert response.status_code == 202
    assert seen.commits == 1 and seen.autocommitted == [], seen.autocommitted
    assert Instance.objects.filter(series__series_instance_uid=series).count() == 4


def test_each_part_is_parsed_once(admin: Any, monkeypatch: Any) -> None:
    import studies.ingest
    import studies.ingest_batch

    calls: list[int] = []
    check = studies.ingest.check_object

    def counted(data: bytes) -> Any:
        calls.append(len(data))
        return check(data)

    monkeypatch.setattr(studies.ingest, "check_object", counted)
    monkeypatch.setattr(studies.ingest_batch, "check_object", counted)
    assert post(admin, body(new_object())).status_code == 200
    assert len(calls) == 1
    study = generate_uid()
    assert post(admin, body(new_object(study), new_object(study))).status_code == 200
    assert len(calls) == 3


@pytest.mark.parametrize("parts", [1, 2])
def test_a_request_whose_stow_event_fails_stores_nothing(
    admin: Any, monkeypatch: Any, parts: int
) -> None:
    """The stow event is written last, in the same transaction: when it fails, the objects
    stored before it lose their rows, their ingest events and their files."""
    before = (Instance.objects.count(), Study.objects.count(), Series.objects.count())
    files, events = stored_files(), AuditEvent.objects.count()

    def audit_down(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr("studies.dicomweb.views.access_events", audit_down)
    study = generate_uid()
    with pytest.raises(RuntimeError, match="audit store down"):
        post(admin, body(*(new_object(study) for _ in range(parts))))
    assert (Instance.objects.count(), Study.objects.count(), Series.objects.count()) == before
    assert AuditEvent.objects.count() == events
    assert stored_files() == files


def test_a_refused_part_leaves_no_file_behind(admin: Any) -> None:
    """Parts are written to the disk while they are checked (storage.stage): a truncated one,
    refused by the checks, must not leave its temporary copy."""
    files = stored_files()
    truncated = new_object()[:-2000]
    response = post(admin, body(truncated))
    assert response.status_code == 409
    assert stored_files() == files


def test_the_same_bytes_twice_in_one_request_are_stored_once(admin: Any) -> None:
    files = stored_files()
    data = new_object()
    response = post(admin, body(data, data))
    assert response.status_code == 200
    assert len(stored_files()) == len(files) + 1
    assert not [p for p in stored_files() if p.name.startswith(".incoming-")]


def test_a_part_stored_before_keeps_one_stow_event_per_request(admin: Any) -> None:
    """A resend is decided inside the object's transaction: the request still writes exactly
    one stow event, and no ingest event for the object it did not store."""
    data = new_object()
    assert post(admin, body(data)).status_code == 200
    events = AuditEvent.objects.count()
    assert post(admin, body(data)).status_code == 200
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))[events:] == [
        "stow"
    ]
    assert post(admin, body(b"garbage")).status_code == 409
    assert AuditEvent.objects.count() == events + 1  # a request that stores nothing: none


def test_a_commit_that_fails_once_is_retried_and_answered_once(
    admin: Any, monkeypatch: Any
) -> None:
    """ingest retries an object whose transaction failed with an IntegrityError (decision 0180):
    the retried request must still answer each part once and write one stow event. Here the
    first attempt's ingest event names a user that does not exist, which the database refuses
    at the commit (foreign keys are checked there)."""
    import studies.ingest

    event = studies.ingest.ingest_event
    attempts: list[int] = []

    def first_fails(*args: Any) -> Any:
        made = event(*args)
        attempts.append(1)
        if len(attempts) == 1:
            made.user_id = 10**9
        return made

    monkeypatch.setattr(studies.ingest, "ingest_event", first_fails)
    files, instances = len(stored_files()), Instance.objects.count()
    stows = AuditEvent.objects.filter(action="stow").count()
    response = post(admin, body(new_object()))
    assert response.status_code == 200
    assert len(attempts) == 2
    assert len(response.json()["00081199"]["Value"]) == 1
    assert AuditEvent.objects.filter(action="stow").count() == stows + 1
    assert Instance.objects.count() == instances + 1
    assert len(stored_files()) == files + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement insert is PG's")
def test_one_statement_rows_equal_the_orm_rows(admin: Any, monkeypatch: Any) -> None:
    """A new study of a new patient through the one-statement insert (decision 0129), the
    in-transaction one (0126) and the ORM's inserts: the same column values in all four rows
    (defaults, JSON, nulls)."""
    from types import SimpleNamespace

    import studies.ingest
    from studies.models import Patient

    def store(patient_id: str) -> tuple[int, dict[str, dict[str, Any]]]:
        study = generate_uid()
        data = rewrite(
            CT,
            StudyInstanceUID=study,
            SeriesInstanceUID=generate_uid(),
            SOPInstanceUID=generate_uid(),
            PatientID=patient_id,
        )
        # A patch of its own each time: undone before the next (connection.commit is patched).
        with pytest.MonkeyPatch.context() as patch, transactions(patch) as seen:
            assert post(admin, body(data)).status_code == 200
        instance = Instance.objects.select_related("series__study__patient").get(
            series__study__study_instance_uid=study
        )
        rows = {
            "instance": instance,
            "series": instance.series,
            "study": instance.series.study,
            "patient": instance.series.study.patient,
        }
        skip = {"id", "created_at", "patient_id", "study_id", "series_id"}
        skip |= {"sop_instance_uid", "series_instance_uid", "study_instance_uid"}
        # The UIDs (of varying length) change the bytes, their digest and the frames' offsets.
        skip |= {"storage_key", "sha256", "received_sha256", "size_bytes", "frame_offsets"}
        return len(seen.statements), {
            name: {
                f.attname: getattr(row, f.attname)
                for f in row._meta.concrete_fields
                if f.attname not in skip
            }
            for name, row in rows.items()
        }

    statements, one = store("P-NEW-1")
    assert statements == 1  # the probes, four rows and the events: one statement (0129)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(studies.ingest, "_alone", lambda *args: False)  # as in a project
        statements, in_transaction = store("P-NEW-3")
    assert statements == 2  # the lookup, then the four rows and the events (0126)
    monkeypatch.setattr(studies.ingest, "connection", SimpleNamespace(vendor="orm-path"))
    statements, orm = store("P-NEW-2")
    assert statements == 6  # the lookup, four inserts, the events
    assert one == orm == in_transaction  # Patient.patient_id is skipped: it differs
    assert one["instance"]["pixel_spacing"] is not None  # JSON and nulls both compared
    assert Patient.objects.filter(patient_id__in=["P-NEW-1", "P-NEW-2", "P-NEW-3"]).count() == 3
