"""DICOMweb parameters out of range are a 400 with a reason, never a 500 (issue 14): non-finite
or huge viewports and source regions, WADO-URI sizes past the rendered endpoint's cap, QIDO
offsets past what a database can page to."""

from __future__ import annotations

import pytest

from tests.studies.dicomweb_support import ingest, instance_url, pydicom_file, token_client


@pytest.fixture
def rendered_url(make_user):  # type: ignore[no-untyped-def]
    client = token_client(make_user("root", superuser=True))
    instance = ingest(pydicom_file("CT_small.dcm"))
    return client, instance


@pytest.mark.django_db
@pytest.mark.parametrize(
    "viewport",
    [
        "inf,inf",
        "nan,5",
        "16384,16384",
        "1e9,1e9",
        "64,64,0,0,1e9,1e9",
        "64,64,0,0,inf,5",
        "64,64,0,0,16384,16384000",
        "64,64,500,500,10,10",
    ],
)
def test_bad_viewports_are_a_400(rendered_url, viewport: str) -> None:  # type: ignore[no-untyped-def]
    client, instance = rendered_url
    response = client.get(instance_url(instance) + "/rendered", {"viewport": viewport})
    assert response.status_code == 400, (viewport, response.status_code)
    assert "viewport" in response.content.decode()


@pytest.mark.django_db
def test_a_source_region_past_the_image_edge_is_clipped(rendered_url) -> None:  # type: ignore[no-untyped-def]
    client, instance = rendered_url
    response = client.get(
        instance_url(instance) + "/rendered", {"viewport": "128,128,64,64,60000,60000"}
    )
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"rows": "1000000000", "columns": "1000000000"},
        {"rows": "16384"},
        {"columns": "9" * 40},
        {"frameNumber": "9" * 40},
    ],
)
def test_wado_uri_sizes_are_capped_like_the_rendered_endpoint(rendered_url, query) -> None:  # type: ignore[no-untyped-def]
    client, instance = rendered_url
    series = instance.series
    params = {
        "requestType": "WADO",
        "studyUID": series.study.study_instance_uid,
        "seriesUID": series.series_instance_uid,
        "objectUID": instance.sop_instance_uid,
        **query,
    }
    response = client.get("/wado", params)
    assert response.status_code == 400, (query, response.status_code)
    assert "must be" in response.content.decode()
    params.update(rows="8192", columns="8192")
    assert client.get("/wado", params | {"frameNumber": "1"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["1" + "0" * 40, "1e40", "-1"])
def test_qido_offsets_are_bounded(rendered_url, offset: str) -> None:  # type: ignore[no-untyped-def]
    client, _ = rendered_url
    response = client.get("/dicomweb/studies", {"offset": offset})
    assert response.status_code == 400, (offset, response.status_code)
    assert "offset" in response.content.decode()
