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
