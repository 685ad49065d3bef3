"""Ingest's round trips to the database are pinned (decisions 0180, 0129): a new study costs one
lookup and one insert per new row (on PostgreSQL one statement for both, and for its audit
events), and an instance added to a series the request already indexed costs its lookup and its
own insert, however many came before. A regression fails here, not in a benchmark nobody runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pydicom.uid import generate_uid

from studies.indexing import SeriesCache
from studies.ingest import ingest_bytes
from studies.models import AuditEvent, Instance, Patient, Series, Study
from tests.studies.ingest_support import (
    pydicom_file,
    rewrite,
    store_dir,  # noqa: F401 (fixture)
)
from tests.studies.test_dicomweb_stow import body, post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]

CT = pydicom_file("CT_small.dcm")
# PostgreSQL probes and inserts a new study's rows in one statement (decisions 0126, 0129),
# SQLite looks up, then inserts one row per statement.
ONE_STATEMENT = connection.vendor == "postgresql"


def new_object(study: str = "", series: str = "", patient: str = "") -> bytes:
    return rewrite(
        CT,
        StudyInstanceUID=study or generate_uid(),
        SeriesInstanceUID=series or generate_uid(),
        SOPInstanceUID=generate_uid(),
        PatientID=patient or f"P-{generate_uid()[-12:]}",
    )


def statements(call: Any) -> list[str]:
    """The SQL statements `call` sends, without the savepoints of the test's own transaction
    (ingest's transaction is a savepoint inside it here; in a request it is BEGIN/COMMIT)."""
    with CaptureQueriesContext(connection) as captured:
        outcome = call()
    assert outcome.status == "stored", outcome.reason
    return without_savepoints(captured.captured_queries)


def without_savepoints(queries: list[dict[str, Any]]) -> list[str]:
    return [
        q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_a_new_study_of_a_new_patient_is_one_lookup_and_four_inserts(make_user: Any) -> None:
    user = make_user("operator", superuser=True)
    sql = statements(lambda: ingest_bytes(new_object(), user=user))
    if ONE_STATEMENT:
        assert len(sql) == 1, sql
        assert sql[0].startswith("WITH known (instance, series, study, patient) AS (SELECT")
        for table in ("patient", "study", "series", "instance", "auditevent"):
            assert f'INSERT INTO "studies_{table}"' in sql[0]
    else:
        assert len(sql) == 6, sql
        assert sum(s.startswith("INSERT") for s in sql) == 5  # patient ... instance, the event
    assert (Patient.objects.count(), Study.objects.count(), Series.objects.count()) == (1, 1, 1)
    assert AuditEvent.objects.get(action="ingest").user == user


def test_a_new_study_of_a_known_patient_is_one_lookup_and_three_inserts() -> None:
    ingest_bytes(new_object(patient="KNOWN"))
    sql = statements(lambda: ingest_bytes(new_object(patient="KNOWN")))
    assert len(sql) == (1 if ONE_STATEMENT else 4), sql
    assert Patient.objects.count() == 1 and Study.objects.count() == 2
    assert Study.objects.values_list("patient__patient_id", flat=True).distinct().get() == "KNOWN"


def test_an_instance_of_a_series_the_request_indexed_is_its_lookup_and_its_insert() -> None:
    study, series, cache = generate_uid(), generate_uid(), SeriesCache()
    ingest_bytes(new_object(study, series), cache=cache)
    for _ in range(3):
        sql = statements(lambda: ingest_bytes(new_object(study, series), cache=cache))
        assert len(sql) == (1 if ONE_STATEMENT else 2), sql
    assert Instance.objects.filter(series__series_instance_uid=series).count() == 4
    assert Series.objects.count() == 1


def test_an_instance_of_a_series_indexed_earlier_loads_the_series_once() -> None:
    study, series = generate_uid(), generate_uid()
    ingest_bytes(new_object(study, series))
    # PostgreSQL: one statement finds the series and inserts the instance into it; elsewhere the
    # lookup, the series' row, the instance.
    assert len(statements(lambda: ingest_bytes(new_object(study, series)))) == (
        1 if ONE_STATEMENT else 3
    )


def test_a_rolled_back_object_leaves_no_series_in_the_requests_cache(
    monkeypatch: Any, make_user: Any
) -> None:
    """The cache keeps only committed series: an object whose transaction failed after its
    series insert must not hand that (rolled back) row to the next object."""
    import studies.ingest as ingest

    study, series, cache = generate_uid(), generate_uid(), SeriesCache()

    def audit_fails(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr("studies.ingest.ingest_event", audit_fails)
    user = make_user("operator", superuser=True)
    with pytest.raises(RuntimeError):
        ingest.ingest_bytes(new_object(study, series), cache=cache, user=user)
    assert cache.get(series) is None and not Series.objects.exists()
    monkeypatch.undo()
    assert ingest.ingest_bytes(new_object(study, series), cache=cache).status == "stored"
    assert Series.objects.get().series_instance_uid == series


def test_a_stow_request_of_one_series_costs_the_same_statements_for_4_parts_as_for_8(
    make_user: Any,
) -> None:
    """Parts after the first are batched (studies.ingest_batch): one query for the known UIDs,
    then one INSERT each for the instances and the audit events, however many parts."""
    from tests.studies.dicomweb_support import token_client

    client = token_client(make_user("root", superuser=True))

    def request_statements(parts: int) -> int:
        study, series = generate_uid(), generate_uid()
        data = body(*(new_object(study, series, patient="P1") for _ in range(parts)))
        with CaptureQueriesContext(connection) as captured:
            assert post(client, data).status_code == 200
        return len(without_savepoints(captured.captured_queries))

    request_statements(1)  # the patient and the token's first use
    one, four, eight = request_statements(1), request_statements(4), request_statements(8)
    # + the batch's known-UID query; on PostgreSQL a one-part request is one statement in all
    # (its new study's rows and audit events, decision 0129) where a batch still takes the
    # lookup, the new study's statement, and one insert for its instances and its events.
    assert four == eight == one + (5 if ONE_STATEMENT else 1), (one, four, eight)
    if ONE_STATEMENT:
        assert one == 1, one
    assert Instance.objects.count() == 1 + 1 + 4 + 8
