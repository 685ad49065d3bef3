"""DICOMweb reads take a short middleware path (studies.dicomweb.lean_reads, decision 0123):
a warm frame or metadata request costs no query, with a token or a session, yet who may see
what, the audit log, logout and the response headers are exactly those of the full stack."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from studies.models import AuditEvent
from tests.cast import make_project
from tests.studies.dicomweb_support import (
    attach,
    ingest,
    instance_url,
    pydicom_file,
    session_client,
    token_client,
)

CORNERSTONE = "multipart/related; type=application/octet-stream; transfer-syntax=*"


@pytest.fixture
def world(make_user):  # type: ignore[no-untyped-def]
    cache.clear()
    annotator, outsider = make_user("ann"), make_user("out")
    project = make_project(annotator=annotator, deidentify=False, classes=())
    attached = ingest(pydicom_file("CT_small.dcm"))
    attach(project, attached)
    return {"annotator": annotator, "outsider": outsider, "attached": attached}


def _frame(client: Client, world: dict, **extra: str):  # type: ignore[no-untyped-def]
    return client.get(
        instance_url(world["attached"]) + "/frames/1", HTTP_ACCEPT=CORNERSTONE, **extra
    )


@pytest.mark.django_db
def test_a_warm_frame_request_with_a_session_costs_no_query(world, django_assert_num_queries):
    annotator = session_client(world["annotator"])
    assert _frame(annotator, world).status_code == 200
    with django_assert_num_queries(0):
        assert _frame(annotator, world).status_code == 200


@pytest.mark.django_db
def test_warm_frame_and_instance_metadata_requests_with_a_token_cost_no_query(
    world, django_assert_num_queries
):
    annotator = token_client(world["annotator"])
    metadata_url = instance_url(world["attached"]) + "/metadata"
    first = annotator.get(metadata_url)
    assert _frame(annotator, world).status_code == 200
    with django_assert_num_queries(0):
        assert _frame(annotator, world).status_code == 200
        again = annotator.get(metadata_url)
    assert again.status_code == 200
    assert again.content == first.content


@pytest.mark.django_db
def test_an_outsider_with_a_session_gets_404_and_anonymous_gets_401(world):
    assert _frame(session_client(world["outsider"]), world).status_code == 404
    response = _frame(Client(), world)
    assert response.status_code == 401
    assert "Token" in response["WWW-Authenticate"]


@pytest.mark.django_db
def test_session_reads_are_audited_once_per_window(world):
    annotator = session_client(world["annotator"])
    for _ in range(3):
        _frame(annotator, world)
    events = AuditEvent.objects.filter(user=world["annotator"], action="wado-frames")
    assert events.count() == 1
    assert events.get().study_instance_uid == world["attached"].series.study.study_instance_uid


@pytest.mark.django_db
def test_logging_out_ends_dicomweb_access_at_once(world):
    annotator = session_client(world["annotator"])
    assert _frame(annotator, world).status_code == 200  # the session's user is now remembered
    cookie = annotator.cookies["sessionid"].value
    annotator.logout()
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert _frame(replay, world).status_code == 401


@pytest.mark.django_db
def test_a_changed_password_ends_the_session(world):
    annotator = session_client(world["annotator"])
    assert _frame(annotator, world).status_code == 200
    world["annotator"].set_password("a new one")
    world["annotator"].save()
    assert _frame(annotator, world).status_code == 401


@pytest.mark.django_db
def test_reads_carry_the_headers_of_the_full_middleware_stack(world):
    by_session = _frame(session_client(world["annotator"]), world)
    by_token = _frame(token_client(world["annotator"]), world)
    for response in (by_session, by_token):
        assert response["Content-Length"] == str(len(response.content))
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
    assert "Cookie" in by_session["Vary"]
    assert not by_token.has_header("Vary")


@pytest.mark.django_db
def test_a_host_outside_allowed_hosts_is_refused(world):
    annotator = token_client(world["annotator"])
    assert _frame(annotator, world, HTTP_HOST="evil.example").status_code == 400


@pytest.mark.django_db
def test_a_session_that_sends_another_authorization_scheme_still_counts(world):
    annotator = session_client(world["annotator"])
    assert _frame(annotator, world, HTTP_AUTHORIZATION="Bearer something").status_code == 200


@pytest.mark.django_db
def test_unknown_dicomweb_paths_and_writes_take_the_full_stack(world):
    annotator = session_client(world["annotator"])
    assert annotator.get("/dicomweb/nothing/here").status_code == 404
    # A session STOW still needs its CSRF token: the short path never serves writes.
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(world["annotator"])
    response = csrf_checked.post(
        "/dicomweb/studies", b"", content_type='multipart/related; type="application/dicom"'
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_token_stow_takes_the_short_path_and_a_session_stow_the_full_stack(
    world, make_user, monkeypatch
):  # type: ignore[no-untyped-def]
    """Decision 0132: a STOW-RS request with a token skips the session, CSRF and message
    middleware it never needed (counted on MessageMiddleware, which runs for every request of
    the full stack) and answers as before; a session's STOW still takes the full stack."""
    from django.contrib.messages.middleware import MessageMiddleware

    from tests.studies.test_dicomweb_stow import CT, STOW_TYPE, body

    seen: list[str] = []
    original = MessageMiddleware.process_request

    def counting(self, request):  # type: ignore[no-untyped-def]
        seen.append(request.method)
        return original(self, request)

    monkeypatch.setattr(MessageMiddleware, "process_request", counting)
    root = make_user("root", superuser=True)
    response = token_client(root).generic(
        "POST", "/dicomweb/studies", body(CT), content_type=STOW_TYPE
    )
    assert response.status_code == 200, response.content
    assert response.json()["00081199"]["Value"]
    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
    assert seen == []
    # The same store through a session: the full stack, its CSRF check included.
    by_session = session_client(root)
    again = by_session.generic("POST", "/dicomweb/studies", body(CT), content_type=STOW_TYPE)
    assert again.status_code == 200 and seen == ["POST"]
