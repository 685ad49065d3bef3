"""POST /api/v1/uploads/: browser upload of DICOM files and zip archives, per-file outcomes."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from studies.models import AuditEvent, Instance
from tests.cast import make_project
from tests.studies.ingest_support import (
    pydicom_file,
    row_counts,
    store_dir,  # noqa: F401 (fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("store_dir")]

URL = "/api/v1/uploads/"
CT = pydicom_file("CT_small.dcm")
MR = pydicom_file("MR_small.dcm")


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_admin_uploads_files_and_a_zip_into_their_project_and_gets_one_outcome_each(
    make_user,
) -> None:
    admin = make_user("admin")
    project = make_project(deidentify=True, admin=admin, classes=())

    response = _client(admin).post(
        URL,
        {
            "project": project.pk,
            "files": [
                _file("ct.dcm", CT.read_bytes()),
                _file("notes.txt", b"not an image"),
                _file(
                    "series.zip", _zip({"a/mr.dcm": MR.read_bytes(), "a/ct.dcm": CT.read_bytes()})
                ),
            ],
        },
        format="multipart",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["counts"] == {
        "stored": 2,
        "duplicate": 1,
        "conflict": 0,
        "rejected": 1,
        "skipped": 0,
    }
    by_name = {r["name"]: r for r in body["results"]}
    assert by_name["ct.dcm"]["status"] == "stored"
    assert by_name["notes.txt"]["code"] == "not_dicom"
    assert by_name["series.zip!a/mr.dcm"]["status"] == "stored"
    assert by_name["series.zip!a/ct.dcm"]["status"] == "duplicate"
    assert project.items.count() == 2
    assert Instance.objects.filter(deidentified=True).count() == 2
    assert AuditEvent.objects.filter(user=admin, action="ingest").count() == 2


def test_an_unsafe_zip_is_reported_and_nothing_from_it_is_stored(make_user) -> None:
    root = make_user("root", superuser=True)
    before = row_counts()

    response = _client(root).post(
        URL,
        {
            "files": [
                _file("evil.zip", _zip({"ok.dcm": CT.read_bytes(), "../x.dcm": MR.read_bytes()}))
            ]
        },
        format="multipart",
    )

    (result,) = response.json()["results"]
    assert result["code"] == "unsafe_archive" and "climbs out" in result["reason"]
    assert row_counts() == before


def test_a_superuser_may_upload_outside_any_project(make_user) -> None:
    response = _client(make_user("root", superuser=True)).post(
        URL, {"files": [_file("ct.dcm", CT.read_bytes())]}, format="multipart"
    )

    assert response.status_code == 200
    assert response.json()["counts"]["stored"] == 1


def test_an_annotator_may_not_upload_into_their_project(make_user) -> None:
    annotator = make_user("ann")
    project = make_project(annotator=annotator, deidentify=False, classes=())

    response = _client(annotator).post(
        URL,
        {"project": project.pk, "files": [_file("ct.dcm", CT.read_bytes())]},
        format="multipart",
    )

    assert response.status_code == 403
    assert Instance.objects.count() == 0


def test_an_outsider_gets_404_for_someone_elses_project(make_user) -> None:
    project = make_project(admin=make_user("admin"), deidentify=False, classes=())

    response = _client(make_user("outsider")).post(
        URL,
        {"project": project.pk, "files": [_file("ct.dcm", CT.read_bytes())]},
        format="multipart",
    )

    assert response.status_code == 404
    assert Instance.objects.count() == 0


def test_a_member_without_a_project_and_anonymous_users_may_not_upload(make_user) -> None:
    files = {"files": [_file("ct.dcm", CT.read_bytes())]}

    assert _client(make_user("doctor")).post(URL, files, format="multipart").status_code == 403
    assert _client().post(URL, files, format="multipart").status_code in (401, 403)
    assert Instance.objects.count() == 0


def test_an_upload_without_files_is_a_400_with_the_field_named(make_user) -> None:
    response = _client(make_user("root", superuser=True)).post(URL, {}, format="multipart")

    assert response.status_code == 400
    assert "files" in response.json()
