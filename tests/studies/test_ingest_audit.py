"""studies.audit.record writes who touched which study, from a request or a user."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from studies.audit import record
from studies.models import AuditEvent
from tests.studies.ingest_support import store_dir  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_recording_from_a_request_keeps_the_user_the_address_and_the_detail(make_user) -> None:
    doctor = make_user("doctor")
    request = RequestFactory().get("/dicomweb/studies", REMOTE_ADDR="10.0.0.7")
    request.user = doctor

    record(request, "qido", "1.2.3", query="PatientID=1", frames=None)

    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.study_instance_uid) == (doctor, "qido", "1.2.3")
    assert event.remote_addr == "10.0.0.7"
    assert event.detail == {"query": "PatientID=1"}


def test_recording_for_an_anonymous_request_stores_no_user() -> None:
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/wado")
    request.user = AnonymousUser()

    record(request, "wado-uri", "1.2.3")

    assert AuditEvent.objects.get().user is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("store_dir")
def test_an_ingest_is_never_kept_without_its_audit_event(make_user) -> None:
    """The audit row is written in the ingest's own transaction: when it cannot be written
    (here: its user was deleted meanwhile), the object is not stored either."""
    from django.db import IntegrityError

    from studies.ingest import ingest_bytes
    from studies.models import Instance
    from tests.studies.dicomweb_support import pydicom_file
    from tests.studies.ingest_support import stored_files

    gone = make_user("gone")
    type(gone).objects.filter(pk=gone.pk).delete()

    with pytest.raises(IntegrityError):
        ingest_bytes(pydicom_file("CT_small.dcm").read_bytes(), user=gone)

    assert Instance.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert stored_files() == []


def test_an_ingest_by_a_person_is_audited(make_user) -> None:
    from studies.ingest import ingest_bytes
    from tests.studies.dicomweb_support import pydicom_file

    doctor = make_user("doctor")
    outcome = ingest_bytes(pydicom_file("CT_small.dcm").read_bytes(), user=doctor, source_name="x")

    event = AuditEvent.objects.get()
    assert (event.user, event.action) == (doctor, "ingest")
    assert event.study_instance_uid == outcome.study_instance_uid
    assert event.detail == {"sop_instance_uid": outcome.sop_instance_uid, "source": "x"}
