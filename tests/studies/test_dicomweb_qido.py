"""QIDO-RS matching (PS3.4 §C.2.2.2) and its error handling."""

from __future__ import annotations

import pytest

from tests.studies.dicomweb_support import ingest, pydicom_file, token_client

FILES = ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm")


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    for name in FILES:
        ingest(pydicom_file(name))
    return token_client(make_user("root", superuser=True))


def uids(response, tag: str = "0020000D") -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [obj[tag]["Value"][0] for obj in response.json()]


@pytest.mark.django_db
def test_patient_name_wildcards_are_case_insensitive(admin):
    assert len(uids(admin.get("/dicomweb/studies?PatientName=compressedsamples^c*"))) == 1
    assert len(uids(admin.get("/dicomweb/studies?00100010=*^?T1"))) == 1
    assert uids(admin.get("/dicomweb/studies?PatientName=Nobody*")) == []


@pytest.mark.django_db
def test_uid_lists_date_ranges_and_modalities(admin):
    every = uids(admin.get("/dicomweb/studies"))
    assert len(every) == 3
    listed = uids(admin.get(f"/dicomweb/studies?StudyInstanceUID={every[0]},{every[2]}"))
    assert listed == [every[0], every[2]]
    assert uids(admin.get("/dicomweb/studies?StudyDate=20040119-20040119")) == [every[0]]
    assert uids(admin.get("/dicomweb/studies?ModalitiesInStudy=MR")) == [every[1]]
    assert uids(admin.get("/dicomweb/series?Modality=CT"), "0020000E") != []


@pytest.mark.django_db
def test_includefield_adds_attributes_from_the_stored_objects(admin):
    plain = admin.get("/dicomweb/instances?Modality=CT").json()[0]
    assert "00180050" not in plain  # SliceThickness is not a default instance attribute
    extended = admin.get("/dicomweb/instances?Modality=CT&includefield=SliceThickness").json()[0]
    assert extended["00180050"]["vr"] == "DS"
    everything = admin.get("/dicomweb/instances?Modality=CT&includefield=all").json()[0]
    assert "00180050" in everything and "7FE00010" not in everything


@pytest.mark.django_db
def test_limit_and_offset_page_through_results(admin):
    pages = [uids(admin.get(f"/dicomweb/studies?limit=2&offset={o}")) for o in (0, 2)]
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(pages[0] + pages[1]) == sorted(uids(admin.get("/dicomweb/studies")))


@pytest.mark.django_db
def test_unsupported_keys_warn_fuzzymatching_is_ignored_and_nonsense_is_400(admin):
    response = admin.get("/dicomweb/studies?fuzzymatching=true&PatientAge=030Y")
    assert response.status_code == 200 and len(response.json()) == 3
    assert "PatientAge" in response["Warning"]
    for bad in ("NotAnAttribute=1", "limit=-1", "offset=x", "StudyDate=2004-01-01"):
        response = admin.get(f"/dicomweb/studies?{bad}")
        assert response.status_code == 400, bad
        assert response.content.strip()
