"""Golden responses: the exact metadata and frame shapes Cornerstone's WADO-RS loader needs
(notes/viewer.md §5). A change here changes what the viewer receives; regenerate the files
deliberately with RADLOOP_UPDATE_GOLDEN=1 and review the diff."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.studies.dicomweb_support import ingest, instance_url, pydicom_file, token_client

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
BASE = "http://dicomweb.test:8443"
# What the loader reads from the metadata (viewer.md §5): without these it renders black,
# breaks, or shows stored values instead of HU. (WindowCenter/Width are sent when the object has
# them; CT_small has none.)
CORNERSTONE_TAGS = {
    "00280010": "Rows",
    "00280011": "Columns",
    "00280100": "BitsAllocated",
    "00280101": "BitsStored",
    "00280102": "HighBit",
    "00280103": "PixelRepresentation",
    "00280002": "SamplesPerPixel",
    "00280004": "PhotometricInterpretation",
    "00281052": "RescaleIntercept",
    "00281053": "RescaleSlope",
    "00280030": "PixelSpacing",
    "00200032": "ImagePositionPatient",
    "00200037": "ImageOrientationPatient",
    "00200052": "FrameOfReferenceUID",
    "00080060": "Modality",
}


def _check(name: str, actual: object) -> None:
    path = GOLDEN / name
    if os.environ.get("RADLOOP_UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    assert actual == json.loads(path.read_text()), f"{name} differs from the golden file"


@pytest.fixture
def viewer(make_user, settings):  # type: ignore[no-untyped-def]
    settings.DICOMWEB_BASE_URL = BASE
    return token_client(make_user("radiologist", superuser=True))


@pytest.mark.django_db
def test_instance_metadata_is_the_dicom_json_cornerstone_loads(viewer):
    instance = ingest(pydicom_file("CT_small.dcm"))
    response = viewer.get(
        instance_url(instance) + "/metadata", HTTP_ACCEPT="application/dicom+json"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/dicom+json"
    (attributes,) = response.json()
    assert set(CORNERSTONE_TAGS) <= set(attributes)
    assert attributes["7FE00010"] == {
        "vr": "OW",
        "BulkDataURI": BASE + instance_url(instance) + "/bulkdata/7FE00010",
    }
    _check("dicomweb_ct_small_metadata.json", attributes)


def _shape_of_multipart(response) -> dict:  # type: ignore[no-untyped-def]
    """The response with its random boundary replaced by BOUNDARY and the frame by its size."""
    content_type = response["Content-Type"]
    boundary = re.search(r"boundary=([^;]+)", content_type).group(1)
    body = response.content
    head_end = body.index(b"\r\n\r\n") + 4
    tail = f"\r\n--{boundary}--\r\n".encode()
    assert body.endswith(tail), "the frame must be followed by CRLF and the closing boundary"
    return {
        "content_type": content_type.replace(boundary, "BOUNDARY"),
        "part_head": body[:head_end].decode().replace(boundary, "BOUNDARY"),
        "frame_bytes": len(body) - head_end - len(tail),
    }


@pytest.mark.django_db
def test_frames_are_single_part_multipart_with_exact_header_spelling(viewer):
    instance = ingest(pydicom_file("CT_small.dcm"))
    compressed = ingest(pydicom_file("MR_small_RLE.dcm"))
    cornerstone_accept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
    shapes = {}
    for name, item in (("native", instance), ("rle", compressed)):
        response = viewer.get(instance_url(item) + "/frames/1", HTTP_ACCEPT=cornerstone_accept)
        assert response.status_code == 200
        shapes[name] = _shape_of_multipart(response)
        assert "\r\nContent-Type: " in shapes[name]["part_head"]  # exact case, viewer.md §5
    _check("dicomweb_frame_responses.json", shapes)
