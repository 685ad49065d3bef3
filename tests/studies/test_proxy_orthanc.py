"""Proxy mode against a real Orthanc: index it through QIDO-RS, then serve its pixels through
our DICOMweb with our access control, fetching frames on demand into a bounded LRU cache."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from django.core.management import call_command
from PIL import Image

from studies.models import Instance
from tests.cast import make_project
from tests.studies.dicomweb_support import (
    attach,
    instance_url,
    token_client,
)
from tests.studies.orthanc_netns import OrthancPeer, unavailable_reason

pytestmark = [pytest.mark.orthanc]
NATIVE = "multipart/related; type=application/octet-stream; transfer-syntax=*"
DECODED = 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1'
FILES = [
    "ts_mr_siemens_explicit_le.dcm",
    "ts_mr_siemens_j2k_lossless.dcm",
    "us_palette_philips_rle_2frame.dcm",
]


@pytest.fixture
def orthanc(shared_data: Path):  # type: ignore[no-untyped-def]
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    from dicomweb_client.api import DICOMwebClient

    with OrthancPeer() as peer:
        client = DICOMwebClient(url=peer.url)
        for name in FILES:
            client.store_instances([pydicom.dcmread(shared_data / "dicom/single_files" / name)])
        yield peer


def _frame(response) -> bytes:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content[:200]
    body = response.content
    start = body.index(b"\r\n\r\n") + 4
    end = body.rindex(b"\r\n--")
    return body[start:end]


@pytest.mark.django_db
def test_upstream_studies_are_indexed_and_served_with_our_access_rules(
    orthanc, settings, tmp_path, make_user, shared_data
):
    settings.DICOMWEB_UPSTREAM_URL = orthanc.url
    settings.DICOMWEB_UPSTREAM_CACHE_DIR = str(tmp_path / "cache")
    call_command("index_upstream")
    instances = list(Instance.objects.order_by("pk"))
    assert len(instances) == len(FILES)
    assert {i.source for i in instances} == {"upstream"} and not any(
        i.storage_key for i in instances
    )
    call_command("index_upstream")  # again: nothing new
    assert Instance.objects.count() == len(FILES)

    annotator, outsider = make_user("ann"), make_user("out")
    project = make_project(annotator=annotator, deidentify=False, classes=())
    by_name = {}
    for instance in instances:
        attach(project, instance)
    for name in FILES:
        ds = pydicom.dcmread(shared_data / "dicom/single_files" / name)
        by_name[name] = (Instance.objects.get(sop_instance_uid=ds.SOPInstanceUID), ds)

    client = token_client(annotator)
    for name, (instance, ds) in by_name.items():
        original = ds.pixel_array if ds.get("NumberOfFrames", 1) in (None, 1) else ds.pixel_array[0]
        decoded = np.frombuffer(
            _frame(client.get(instance_url(instance) + "/frames/1", HTTP_ACCEPT=DECODED)),
            dtype=original.dtype,
        )
        np.testing.assert_array_equal(decoded.reshape(original.shape), original, err_msg=name)
        native = _frame(client.get(instance_url(instance) + "/frames/1", HTTP_ACCEPT=NATIVE))
        assert len(native) > 0
        meta = client.get(instance_url(instance) + "/metadata").json()[0]
        assert meta["7FE00010"]["BulkDataURI"].startswith("http://testserver/dicomweb/")
        assert orthanc.url not in str(meta)
    rendered = client.get(instance_url(by_name[FILES[1]][0]) + "/rendered")
    assert Image.open(io.BytesIO(rendered.content)).size == (384, 384)
    assert token_client(outsider).get(instance_url(instances[0]) + "/frames/1").status_code == 404
    assert any((tmp_path / "cache").rglob("*"))


@pytest.mark.django_db
def test_the_frame_cache_stays_under_its_size_limit(orthanc, settings, tmp_path, make_user):
    from studies.dicomweb import upstream

    settings.DICOMWEB_UPSTREAM_URL = orthanc.url
    settings.DICOMWEB_UPSTREAM_CACHE_DIR = str(tmp_path / "cache")
    settings.DICOMWEB_UPSTREAM_CACHE_BYTES = 400_000  # one 384x384x16-bit frame is 294,912 bytes
    call_command("index_upstream")
    admin = token_client(make_user("root", superuser=True))
    for instance in Instance.objects.filter(rows=384):
        assert (
            admin.get(instance_url(instance) + "/frames/1", HTTP_ACCEPT=NATIVE).status_code == 200
        )
    assert upstream.frame_cache().size() <= 400_000
    assert len(upstream.frame_cache().files()) >= 1


@pytest.fixture
def guarded_orthanc(shared_data: Path):  # type: ignore[no-untyped-def]
    """An Orthanc that asks every request for HTTP basic credentials (RegisteredUsers)."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    import requests
    from dicomweb_client.api import DICOMwebClient

    with OrthancPeer(users={"radloop": "s3cret"}) as peer:
        session = requests.Session()
        session.auth = peer.auth
        client = DICOMwebClient(url=peer.url, session=session)
        client.store_instances([pydicom.dcmread(shared_data / "dicom/single_files" / FILES[0])])
        yield peer


@pytest.mark.django_db
def test_an_upstream_that_asks_for_credentials_is_indexed_and_served_with_them(
    guarded_orthanc, settings, tmp_path, make_user, shared_data
):
    settings.DICOMWEB_UPSTREAM_URL = guarded_orthanc.url
    settings.DICOMWEB_UPSTREAM_CACHE_DIR = str(tmp_path / "cache")
    settings.DICOMWEB_UPSTREAM_USER, settings.DICOMWEB_UPSTREAM_PASSWORD = "radloop", "s3cret"
    call_command("index_upstream")
    (instance,) = Instance.objects.all()

    ds = pydicom.dcmread(shared_data / "dicom/single_files" / FILES[0])
    admin = token_client(make_user("root", superuser=True))
    frame = _frame(admin.get(instance_url(instance) + "/frames/1", HTTP_ACCEPT=DECODED))
    decoded = np.frombuffer(frame, dtype=ds.pixel_array.dtype).reshape(ds.pixel_array.shape)
    np.testing.assert_array_equal(decoded, ds.pixel_array)
    assert admin.get(instance_url(instance) + "/metadata").status_code == 200


@pytest.mark.django_db
def test_an_upstream_refusal_names_the_settings_to_fix(guarded_orthanc, settings):
    from django.core.management.base import CommandError

    settings.DICOMWEB_UPSTREAM_URL = guarded_orthanc.url
    settings.DICOMWEB_UPSTREAM_USER, settings.DICOMWEB_UPSTREAM_PASSWORD = "radloop", "wrong"
    with pytest.raises(CommandError, match="answered 401: check DICOMWEB_UPSTREAM_USER"):
        call_command("index_upstream")
    assert not Instance.objects.exists()
