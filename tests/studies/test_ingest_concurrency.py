"""Two uploads of the same object at the same moment: one stores it, the other sees a duplicate,
and exactly one object is kept (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from studies.ingest import IngestOutcome, ingest_bytes
from studies.models import Instance
from tests.studies.ingest_support import (
    pydicom_file,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("store_dir"),
]


def test_simultaneous_ingests_of_one_object_store_it_once() -> None:
    data = pydicom_file("CT_small.dcm").read_bytes()
    start = threading.Barrier(4)
    outcomes: list[IngestOutcome] = []
    errors: list[BaseException] = []

    def upload() -> None:
        try:
            start.wait(timeout=30)
            outcomes.append(ingest_bytes(data))
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(o.status for o in outcomes) == ["duplicate"] * 3 + ["stored"]
    assert Instance.objects.count() == 1
    assert len(stored_files()) == 1


def test_simultaneous_ingests_of_one_new_study_index_it_once() -> None:
    """Index inserts take no savepoint (decision 0180): the ingest that loses the race for the
    new patient, study or series rows is indexed again and joins the winner's rows."""
    from pydicom.uid import generate_uid

    from studies.models import Patient, Series, Study
    from tests.studies.test_ingest_round_trips import new_object

    study, series = generate_uid(), generate_uid()
    objects = [new_object(study, series, patient="RACE") for _ in range(4)]
    start = threading.Barrier(4)
    outcomes: list[IngestOutcome] = []
    errors: list[BaseException] = []

    def upload(data: bytes) -> None:
        try:
            start.wait(timeout=30)
            outcomes.append(ingest_bytes(data))
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(data,)) for data in objects]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert [o.status for o in outcomes] == ["stored"] * 4
    assert (Patient.objects.count(), Study.objects.count(), Series.objects.count()) == (1, 1, 1)
    assert Instance.objects.count() == 4
