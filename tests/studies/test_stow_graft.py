"""A project's admin cannot graft a series onto another project's study by STOW-RS (issue 14):
the store is refused with 409 and a PS3.18 failure reason, nothing is stored, and neither
project sees anything of the other's (decision 0150)."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.uid import generate_uid

from studies.models import Instance, Series
from tests.cast import make_project
from tests.studies.dicomweb_support import (
    ingest,
    pydicom_file,
    token_client,
)
from tests.studies.test_dicomweb_stow import body, post

CT = pydicom_file("CT_small.dcm").read_bytes()


def _new_series_in(study_uid: str) -> bytes:
    ds = pydicom.dcmread(io.BytesIO(CT))
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.fixture
def two_projects(make_user):  # type: ignore[no-untyped-def]
    from tests.studies.dicomweb_support import attach

    people = {n: make_user(n) for n in ("a_admin", "a_ann", "b_ann")}
    project_a = make_project(
        name="A", admin=people["a_admin"], annotator=people["a_ann"], deidentify=False, classes=()
    )
    project_b = make_project(name="B", annotator=people["b_ann"], deidentify=False, classes=())
    instance = ingest(pydicom_file("CT_small.dcm"))
    attach(project_b, instance)
    return project_a, project_b, instance, people


@pytest.mark.django_db
def test_stow_into_another_projects_study_is_refused_and_stores_nothing(two_projects):
    project_a, project_b, b_instance, people = two_projects
    b_study = b_instance.series.study.study_instance_uid
    before = (Instance.objects.count(), Series.objects.count())

    response = post(
        token_client(people["a_admin"]),
        body(_new_series_in(b_study)),
        url=f"/dicomweb/projects/{project_a.pk}/studies",
    )

    assert response.status_code == 409
    failed = response.json()["00081198"]["Value"]
    assert failed[0]["00081197"]["Value"] == [0x0124]
    assert "outside this project" in response["Warning"]
    assert (Instance.objects.count(), Series.objects.count()) == before

    # A's annotator sees nothing of B's study; B's member sees only B's own series.
    a_view = token_client(people["a_ann"]).get(
        f"/dicomweb/projects/{project_a.pk}/studies/{b_study}/series"
    )
    assert a_view.status_code == 404
    b_view = token_client(people["b_ann"]).get(
        f"/dicomweb/projects/{project_b.pk}/studies/{b_study}/series"
    )
    assert b_view.status_code == 200
    assert [s["0020000E"]["Value"][0] for s in b_view.json()] == [
        b_instance.series.series_instance_uid
    ]


@pytest.mark.django_db
def test_resending_another_projects_instance_does_not_attach_it(two_projects):
    from annotations.models import Item

    project_a, _, _, people = two_projects
    response = post(
        token_client(people["a_admin"]),
        body(CT),
        url=f"/dicomweb/projects/{project_a.pk}/studies",
    )
    assert response.status_code == 409
    assert not Item.objects.filter(project=project_a).exists()


@pytest.mark.django_db
def test_a_project_may_keep_adding_series_to_its_own_study(make_user):
    admin = make_user("owner")
    project = make_project(name="Own", admin=admin, deidentify=False, classes=())
    url = f"/dicomweb/projects/{project.pk}/studies"
    client = token_client(admin)
    assert post(client, body(CT), url=url).status_code == 200
    study = Instance.objects.get().series.study.study_instance_uid
    assert post(client, body(_new_series_in(study)), url=url).status_code == 200
    assert Series.objects.filter(study__study_instance_uid=study).count() == 2
