"""studies.audit.record writes who touched which study, from a request or a user."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from studies.audit import record
from studies.models import AuditEvent

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
