"""STOW-RS answers with the standard Store Instances Response (PS3.18 §10.5.3): 200 when all
parts are stored, 202 when some fail, 409 when none is stored, each failure with its reason;
malformed requests are refused before anything is stored."""

from __future__ import annotations

import pytest

from studies.models import Instance
from tests.cast import make_project
from tests.studies.dicomweb_support import pydicom_file, token_client

BOUNDARY = "b0undary"
STOW_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def body(*parts: bytes, part_type: str = "application/dicom") -> bytes:
    chunks = [
        f"--{BOUNDARY}\r\nContent-Type: {part_type}\r\n\r\n".encode() + p + b"\r\n" for p in parts
    ]
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()


def post(client, data: bytes, content_type: str = STOW_TYPE, url: str = "/dicomweb/studies"):  # type: ignore[no-untyped-def]
    return client.generic("POST", url, data, content_type=content_type)


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return token_client(make_user("root", superuser=True))


CT = pydicom_file("CT_small.dcm").read_bytes()
MR = pydicom_file("MR_small.dcm").read_bytes()


@pytest.mark.django_db
def test_all_parts_stored_is_200_with_referenced_sops_and_retrieve_urls(admin):
    response = post(admin, body(CT, MR))
    assert response.status_code == 200
    result = response.json()
    referenced = result["00081199"]["Value"]
    assert len(referenced) == 2 and "00081198" not in result
    assert referenced[0]["00081190"]["Value"][0].startswith("http://testserver/dicomweb/studies/")
    assert Instance.objects.count() == 2


@pytest.mark.django_db
def test_storing_the_same_bytes_again_is_idempotent(admin):
    assert post(admin, body(CT)).status_code == 200
    assert post(admin, body(CT)).status_code == 200
    assert Instance.objects.count() == 1


@pytest.mark.django_db
def test_some_failures_are_202_with_a_failure_reason_each(admin):
    response = post(admin, body(CT, b"not dicom at all", CT[: len(CT) // 2]))
    assert response.status_code == 202
    failed = response.json()["00081198"]["Value"]
    assert [item["00081197"]["Value"][0] for item in failed] == [0xC000, 0xC000]
    assert "not a DICOM" in response["Warning"]
    assert Instance.objects.count() == 1


@pytest.mark.django_db
def test_nothing_stored_is_409(admin):
    response = post(admin, body(b"garbage"))
    assert response.status_code == 409
    assert "00081199" not in response.json()
    assert Instance.objects.count() == 0


@pytest.mark.django_db
def test_same_uid_with_other_content_is_a_conflict_and_keeps_the_first(admin):
    import io

    import pydicom

    post(admin, body(CT))
    changed = pydicom.dcmread(io.BytesIO(CT))
    changed.PatientName = "Someone^Else"
    out = io.BytesIO()
    changed.save_as(out)
    response = post(admin, body(out.getvalue()))
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0111]
    assert str(Instance.objects.get().series.study.patient.patient_name) != "Someone^Else"


@pytest.mark.django_db
def test_wrong_content_type_and_missing_boundary_are_refused(admin):
    assert post(admin, CT, content_type="application/dicom").status_code == 415
    assert (
        post(
            admin, body(CT), content_type='multipart/related; type="image/jpeg"; boundary=x'
        ).status_code
        == 415
    )
    response = post(admin, body(CT), content_type='multipart/related; type="application/dicom"')
    assert response.status_code == 400
    assert "boundary" in response.content.decode()
    assert Instance.objects.count() == 0


@pytest.mark.django_db
def test_a_part_of_another_study_is_refused_by_a_study_targeted_store(admin):
    response = post(admin, body(CT), url="/dicomweb/studies/1.2.3.4")
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]


@pytest.mark.django_db
def test_project_stow_attaches_to_the_project_and_needs_its_admin(make_user):
    from annotations.models import Item

    owner, annotator = make_user("owner"), make_user("ann")
    project = make_project(admin=owner, annotator=annotator, deidentify=False, classes=())
    url = f"/dicomweb/projects/{project.pk}/studies"
    assert post(token_client(annotator), body(CT), url=url).status_code == 403
    assert post(token_client(make_user("out")), body(CT), url=url).status_code == 404
    assert post(token_client(owner), body(CT), url=url).status_code == 200
    assert Item.objects.filter(project=project).count() == 1
    assert post(token_client(owner), body(CT)).status_code == 403  # the global root: superusers


@pytest.mark.django_db
def test_a_session_store_needs_the_csrf_token(make_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("root", superuser=True))
    assert post(client, body(CT)).status_code == 403
    assert Instance.objects.count() == 0
