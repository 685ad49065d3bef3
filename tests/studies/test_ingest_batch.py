"""A request's objects are ingested together (studies.ingest_batch, decision 0180) and each still
ends all-or-nothing: a rejected object leaves nothing while the others are stored; a batch that
fails as a whole (an object grafted onto another project's study) falls back to one object at a
time, so each object gets its own outcome; a UID twice in one request is stored once."""

from __future__ import annotations

from typing import Any

import pytest
from pydicom.uid import generate_uid

from studies.ingest_batch import ingest_many
from studies.models import AuditEvent, Instance, Series, Study
from tests.cast import make_project
from tests.studies.dicomweb_support import attach, ingest
from tests.studies.ingest_support import (
    pydicom_file,
    store_dir,  # noqa: F401 (fixture)
    stored_files,
)
from tests.studies.test_ingest_round_trips import new_object

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]


def test_a_batch_stores_its_good_objects_and_nothing_of_the_rejected_one(make_user: Any) -> None:
    study, series = generate_uid(), generate_uid()
    good = [new_object(study, series, patient="P") for _ in range(3)]
    truncated = new_object(study, series, patient="P")[:-4000]
    user = make_user("root", superuser=True)
    outcomes = ingest_many(
        [("a", good[0]), ("bad", truncated), ("b", good[1]), ("c", good[2])], user=user
    )
    assert [o.status for o in outcomes] == ["stored", "rejected", "stored", "stored"]
    assert [o.source_name for o in outcomes] == ["a", "bad", "b", "c"]
    assert outcomes[1].code == "truncated"
    assert Instance.objects.count() == 3 and Series.objects.count() == Study.objects.count() == 1
    assert len(stored_files()) == 3
    events = AuditEvent.objects.filter(action="ingest")
    assert sorted(e.detail["source"] for e in events) == ["a", "b", "c"]


def test_the_same_uid_twice_in_one_request_is_stored_once_then_a_duplicate() -> None:
    data = new_object()
    outcomes = ingest_many([("first", data), ("again", data)])
    assert [o.status for o in outcomes] == ["stored", "duplicate"]
    assert Instance.objects.count() == 1


def test_a_batch_with_a_foreign_study_stores_the_rest_and_refuses_that_one(
    make_user: Any,
) -> None:
    admin = make_user("a_admin")
    mine = make_project(name="A", admin=admin, deidentify=False, classes=())
    theirs = make_project(name="B", deidentify=False, classes=())
    foreign = ingest(pydicom_file("CT_small.dcm"))
    attach(theirs, foreign)
    graft = new_object(foreign.series.study.study_instance_uid)
    own_study = generate_uid()
    own = [new_object(own_study, patient="Q") for _ in range(2)]

    outcomes = ingest_many(
        [("x", own[0]), ("graft", graft), ("y", own[1])], user=admin, project=mine
    )

    assert [o.status for o in outcomes] == ["stored", "rejected", "stored"]
    assert outcomes[1].code == "foreign_study"
    assert foreign.series.study.series.count() == 1  # nothing grafted
    assert {o.items_created for o in outcomes if o.status == "stored"} == {1}
    assert Instance.objects.filter(series__study__study_instance_uid=own_study).count() == 2


def test_items_are_counted_per_object_in_a_batch(make_user: Any) -> None:
    project = make_project(deidentify=False, classes=())
    study, series = generate_uid(), generate_uid()
    outcomes = ingest_many(
        [(str(i), new_object(study, series, patient="R")) for i in range(3)], project=project
    )
    assert [o.items_created for o in outcomes] == [1, 1, 1]
    assert project.items.count() == 3
