"""Rendered images, thumbnails and WADO-URI: window, viewport, format and frame selection."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.studies.dicomweb_support import ingest, instance_url, pydicom_file, token_client


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return token_client(make_user("root", superuser=True))


def image(response) -> Image.Image:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return Image.open(io.BytesIO(response.content))


@pytest.mark.django_db
def test_window_changes_the_picture_and_viewport_scales_it(admin):
    url = instance_url(ingest(pydicom_file("CT_small.dcm"))) + "/rendered"
    default = image(admin.get(url, HTTP_ACCEPT="image/png"))
    assert default.format == "PNG" and default.size == (128, 128)
    narrow = image(admin.get(url + "?window=40,80,linear", HTTP_ACCEPT="image/png"))
    assert not np.array_equal(np.asarray(default), np.asarray(narrow))
    small = image(admin.get(url + "?viewport=64,32"))
    assert small.format == "JPEG" and small.size == (32, 32)
    assert admin.get(url + "?window=40").status_code == 400
    assert admin.get(url, HTTP_ACCEPT="image/gif").status_code == 406


@pytest.mark.django_db
def test_rendered_pixels_follow_the_voi_window(admin):
    path = pydicom_file("CT_small.dcm")
    ds = pydicom.dcmread(path)
    url = instance_url(ingest(path)) + "/rendered?window=1000,2000,linear-exact"
    got = np.asarray(image(admin.get(url, HTTP_ACCEPT="image/png")), dtype=np.float64)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    expected = np.clip(((hu - 1000) / 2000 + 0.5) * 255, 0, 255)
    assert np.abs(got - expected).max() <= 1


@pytest.mark.django_db
def test_a_chosen_frame_of_a_multiframe_instance_is_rendered(admin, shared_data):
    instance = ingest(shared_data / "dicom/single_files/enhanced_mr_small_10frame_jpegls.dcm")
    first = image(admin.get(instance_url(instance) + "/frames/1/rendered", HTTP_ACCEPT="image/png"))
    last = image(admin.get(instance_url(instance) + "/frames/10/rendered", HTTP_ACCEPT="image/png"))
    assert not np.array_equal(np.asarray(first), np.asarray(last))
    assert admin.get(instance_url(instance) + "/frames/11/rendered").status_code == 404


@pytest.mark.django_db
def test_thumbnails_exist_for_studies_series_and_instances(admin):
    instance = ingest(pydicom_file("MR_small.dcm"))
    url = instance_url(instance)
    series_url = url.rsplit("/instances/", 1)[0]
    study_url = series_url.rsplit("/series/", 1)[0]
    for thumb in (url, series_url, study_url):
        picture = image(admin.get(thumb + "/thumbnail"))
        assert max(picture.size) == 128


@pytest.mark.django_db
def test_wado_uri_serves_the_object_and_rendered_frames(admin):
    path = pydicom_file("MR_small_RLE.dcm")
    instance = ingest(path)
    series = instance.series
    query = (
        f"/wado?requestType=WADO&studyUID={series.study.study_instance_uid}"
        f"&seriesUID={series.series_instance_uid}&objectUID={instance.sop_instance_uid}"
    )
    response = admin.get(query + "&contentType=application/dicom")
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    ds = pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content)))
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"  # PS3.18 default
    np.testing.assert_array_equal(ds.pixel_array, pydicom.dcmread(path).pixel_array)
    stored = admin.get(query + "&contentType=application/dicom&transferSyntax=*")
    assert b"".join(stored.streaming_content) == path.read_bytes()
    assert image(admin.get(query + "&frame=1&rows=32")).size == (32, 32)
    assert admin.get(query.replace("requestType=WADO", "requestType=X")).status_code == 400
