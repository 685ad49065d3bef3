"""Who may freeze, export, watch and download: admins and members with the export right.

Annotators without the right and reviewers without it get 403 on the project's export routes
(they know the project) and 404 on its jobs; outsiders get 404 everywhere; anonymous 401/403.
"""

from __future__ import annotations

import pytest

from annotations.exports.models import ExportJob
from annotations.exports.snapshots import freeze_snapshot


@pytest.fixture
def job(cast, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    snapshot = freeze_snapshot(cast.project)
    return ExportJob.objects.create(project=cast.project, snapshot=snapshot, formats=["csv"])


ALLOWED = ["alice", "erin"]
MEMBERS_WITHOUT_RIGHT = ["rita", "anna"]


@pytest.mark.parametrize("who", ALLOWED)
def test_admins_and_members_with_the_right_can_freeze_and_list(cast, who) -> None:
    client = cast.client(who)
    url = f"/api/v1/projects/{cast.project.pk}/snapshots/"
    created = client.post(url)
    assert created.status_code == 201
    assert created.json()["items"] == 12
    assert client.post(url).status_code == 200  # unchanged labels: the same snapshot
    assert client.get(f"/api/v1/projects/{cast.project.pk}/exports/").status_code == 200


@pytest.mark.parametrize("who", MEMBERS_WITHOUT_RIGHT)
def test_members_without_the_right_are_refused_on_the_project(cast, who, job) -> None:
    client = cast.client(who)
    pid = cast.project.pk
    assert client.post(f"/api/v1/projects/{pid}/snapshots/").status_code == 403
    response = client.post(f"/api/v1/projects/{pid}/exports/", {"formats": ["csv"]}, format="json")
    assert response.status_code == 403
    assert client.get(f"/api/v1/projects/{pid}/exports/").status_code == 403
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert client.get(f"/api/v1/exports/{job.pk}/download").status_code == 404
    assert client.post(f"/api/v1/exports/{job.pk}/cancel").status_code == 404
    assert ExportJob.objects.count() == 1


def test_outsiders_cannot_tell_the_project_or_its_exports_exist(cast, job) -> None:
    client = cast.client("otto")
    pid = cast.project.pk
    assert client.post(f"/api/v1/projects/{pid}/snapshots/").status_code == 404
    assert client.get(f"/api/v1/projects/{pid}/exports/").status_code == 404
    assert client.get(f"/api/v1/snapshots/{job.snapshot_id}/").status_code == 404
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code == 404
    assert client.get(f"/api/v1/exports/{job.pk}/download").status_code == 404


def test_anonymous_requests_are_not_authenticated(cast, job) -> None:
    client = cast.client(None)
    assert client.get(f"/api/v1/exports/{job.pk}/").status_code in (401, 403)
    assert client.get(f"/api/v1/exports/{job.pk}/download").status_code in (401, 403)


def test_only_admins_may_turn_de_identification_off(
    cast, django_capture_on_commit_callbacks
) -> None:
    url = f"/api/v1/projects/{cast.project.pk}/exports/"
    body = {"formats": ["csv"], "options": {"deidentify": False}}
    refused = cast.client("erin").post(url, body, format="json")
    assert refused.status_code == 400
    assert "de-identification" in str(refused.json())
    with django_capture_on_commit_callbacks(execute=False):
        accepted = cast.client("alice").post(url, body, format="json")
    assert accepted.status_code == 202
    assert accepted.json()["options"]["deidentify"] is False


def test_bad_requests_are_refused_with_reasons_and_create_nothing(cast) -> None:
    url = f"/api/v1/projects/{cast.project.pk}/exports/"
    client = cast.client("alice")
    cases = [
        ({"formats": []}, "formats"),
        ({"formats": ["tiff"]}, "formats"),
        ({"formats": ["dicom_seg"]}, "formats"),  # a classification project has no masks
        ({"formats": ["csv"], "options": {"bit_depth": 12}}, "options.bit_depth"),
        ({"formats": ["csv"], "snapshot": 999999}, "snapshot"),
    ]
    for body, field in cases:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), response.json()
    assert ExportJob.objects.count() == 0
