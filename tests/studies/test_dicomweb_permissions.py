"""Who sees what through DICOMweb: anonymous gets 401, outsiders 404 (as if nothing existed),
members see their projects' studies, a token works like a session, and every access is logged."""

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
    cache.clear()  # audit coalescing keys from earlier tests (same user ids) must not linger
    annotator, outsider, admin = (
        make_user("ann"),
        make_user("out"),
        make_user("root", superuser=True),
    )
    project = make_project(annotator=annotator, deidentify=False, classes=())
    attached = ingest(pydicom_file("CT_small.dcm"))
    other = ingest(pydicom_file("MR_small.dcm"))
    attach(project, attached)
    return {
        "annotator": annotator,
        "outsider": outsider,
        "admin": admin,
        "project": project,
        "attached": attached,
        "other": other,
    }


@pytest.mark.django_db
def test_anonymous_requests_are_told_to_authenticate(world):
    for url in ("/dicomweb/studies", instance_url(world["attached"]) + "/frames/1", "/wado"):
        response = Client().get(url)
        assert response.status_code == 401
        assert "Token" in response["WWW-Authenticate"]


@pytest.mark.django_db
def test_a_bad_token_is_refused(world):
    response = Client(HTTP_AUTHORIZATION="Token nope").get("/dicomweb/studies")
    assert response.status_code == 401


@pytest.mark.django_db
def test_an_outsider_gets_404_for_a_study_that_exists(world):
    outsider = token_client(world["outsider"])
    url = instance_url(world["attached"])
    for path in ("/metadata", "/frames/1", "/rendered", ""):
        assert (
            outsider.get(url + path, HTTP_ACCEPT=CORNERSTONE if path else "*/*").status_code == 404
        )
    assert outsider.get("/dicomweb/studies").json() == []


@pytest.mark.django_db
def test_a_member_sees_only_the_studies_of_their_projects_with_a_token(world):
    annotator = token_client(world["annotator"])
    studies = annotator.get("/dicomweb/studies").json()
    assert [s["0020000D"]["Value"][0] for s in studies] == [
        world["attached"].series.study.study_instance_uid
    ]
    assert (
        annotator.get(
            instance_url(world["attached"]) + "/frames/1", HTTP_ACCEPT=CORNERSTONE
        ).status_code
        == 200
    )
    assert annotator.get(instance_url(world["other"]) + "/metadata").status_code == 404


@pytest.mark.django_db
def test_a_session_works_like_a_token(world):
    annotator = session_client(world["annotator"])
    assert annotator.get(instance_url(world["attached"]) + "/metadata").status_code == 200


@pytest.mark.django_db
def test_a_project_root_shows_only_that_project_to_its_members(world):
    project = world["project"]
    root = f"/dicomweb/projects/{project.pk}"
    annotator = token_client(world["annotator"])
    studies = annotator.get(f"{root}/studies").json()
    assert len(studies) == 1
    assert studies[0]["00081190"]["Value"][0].endswith(
        f"{root}/studies/{world['attached'].series.study.study_instance_uid}"
    )
    admin = token_client(world["admin"])
    assert admin.get(instance_url(world["other"], root) + "/metadata").status_code == 404
    assert token_client(world["outsider"]).get(f"{root}/studies").status_code == 404
    assert annotator.get("/dicomweb/projects/999999/studies").status_code == 404


@pytest.mark.django_db
def test_every_access_is_written_to_the_audit_log_and_frames_once_per_window(world):
    annotator = token_client(world["annotator"])
    study = world["attached"].series.study.study_instance_uid
    annotator.get("/dicomweb/studies")
    annotator.get(instance_url(world["attached"]) + "/metadata")
    for _ in range(3):
        annotator.get(instance_url(world["attached"]) + "/frames/1", HTTP_ACCEPT=CORNERSTONE)
    events = AuditEvent.objects.filter(user=world["annotator"], study_instance_uid=study)
    actions = sorted(events.values_list("action", flat=True))
    assert actions == ["qido", "wado-frames", "wado-metadata"]
