"""The study browser's REST list: only visible studies, filters, series with thumbnails, and a
query count that does not grow with the page."""

from __future__ import annotations

import pytest

from tests.cast import make_project
from tests.studies.dicomweb_support import attach, ingest, pydicom_file, token_client


@pytest.fixture
def studies():  # type: ignore[no-untyped-def]
    return {
        name: ingest(pydicom_file(name))
        for name in ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm")
    }


@pytest.mark.django_db
def test_an_annotator_lists_only_their_projects_studies(make_user, studies):
    annotator = make_user("ann")
    attach(make_project(annotator=annotator, deidentify=False, classes=()), studies["CT_small.dcm"])
    page = token_client(annotator).get("/api/v1/studies/").json()
    assert page["count"] == 1
    (study,) = page["results"]
    assert study["uid"] == studies["CT_small.dcm"].series.study.study_instance_uid
    (series,) = study["series"]
    assert series["modality"] == "CT" and series["instance_count"] == 1
    assert series["thumbnail_url"].startswith("http://testserver/dicomweb/studies/")
    assert token_client(annotator).get(series["thumbnail_url"]).status_code == 200


@pytest.mark.django_db
def test_filters_by_search_modality_patient_and_dates(make_user, studies):
    admin = token_client(make_user("root", superuser=True))

    def count(query: str) -> int:
        response = admin.get(f"/api/v1/studies/?{query}")
        assert response.status_code == 200, response.content
        return int(response.json()["count"])

    assert count("") == 3
    assert count("modality=mr") == 1
    assert count("search=compressedsamples") >= 1
    assert count("patient_id=nobody") == 0
    # The "add existing studies" search: patient name or ID, and study description.
    assert count("patient=samples%5Ect1") == 1
    assert count("patient=4mr") == 1
    assert count("patient=compressedsamples") == 3
    assert count("description=whole%20body") == 1
    assert count("patient=compressedsamples&modality=mr") == 1
    assert count("date_from=20040119&date_to=20040119") == 1
    assert admin.get("/api/v1/studies/?date_from=2004-01-19").status_code == 400
    assert token_client(make_user("out")).get("/api/v1/studies/").json()["count"] == 0


@pytest.mark.django_db
def test_the_page_costs_a_fixed_number_of_queries(make_user, studies, django_assert_num_queries):
    admin = token_client(make_user("root", superuser=True))
    admin.get("/api/v1/studies/")  # warm the token and session lookups
    with django_assert_num_queries(4):  # token, count, studies, series
        admin.get("/api/v1/studies/")
