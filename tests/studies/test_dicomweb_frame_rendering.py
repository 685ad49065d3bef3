"""Every frame of a multi-frame instance has its own rendered image and thumbnail
(.../frames/{n}/rendered and .../frames/{n}/thumbnail), on the real multi-frame files of the
shared data; a frame outside the instance is 404 and a malformed frame number 400, each with its
reason."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image

from tests.studies.dicomweb_support import ingest, instance_url, token_client

MULTIFRAME = (
    "enhanced_mr_small_10frame_jpegls.dcm",  # 10 different MR slices, JPEG-LS
    "us_palette_philips_rle_2frame.dcm",  # PALETTE COLOR, RLE: frame 2 repeats frame 1
)
PNG = {"HTTP_ACCEPT": "image/png"}


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return token_client(make_user("root", superuser=True))


def pixels(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.content
    return np.asarray(Image.open(io.BytesIO(response.content)))


@pytest.mark.django_db
@pytest.mark.parametrize("name", MULTIFRAME)
def test_every_frame_renders_its_own_pixels(admin: Any, shared_data: Path, name: str) -> None:
    path = shared_data / "dicom/single_files" / name
    decoded = pydicom.dcmread(path).pixel_array
    url = instance_url(ingest(path))
    rendered = [
        pixels(admin.get(f"{url}/frames/{n}/rendered", **PNG)) for n in range(1, len(decoded) + 1)
    ]
    for i in range(len(decoded)):
        for j in range(i + 1, len(decoded)):
            # Frames that differ in the file differ on screen; repeated ones look the same.
            same_source = np.array_equal(decoded[i], decoded[j])
            assert np.array_equal(rendered[i], rendered[j]) == same_source, (i + 1, j + 1)
    assert not np.array_equal(rendered[0], rendered[1]) or name.startswith("us_palette")


@pytest.mark.django_db
@pytest.mark.parametrize("name", MULTIFRAME)
def test_every_frame_has_a_thumbnail_of_that_frame(
    admin: Any, shared_data: Path, name: str
) -> None:
    path = shared_data / "dicom/single_files" / name
    frames = int(pydicom.dcmread(path, stop_before_pixels=True).NumberOfFrames)
    url = instance_url(ingest(path))
    for n in range(1, frames + 1):
        thumbnail = pixels(admin.get(f"{url}/frames/{n}/thumbnail", **PNG))
        assert max(thumbnail.shape[:2]) <= 128
        # The thumbnail is frame n's rendered image at the thumbnail viewport.
        fitted = pixels(admin.get(f"{url}/frames/{n}/rendered?viewport=128,128", **PNG))
        assert np.array_equal(thumbnail, fitted), n


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["rendered", "thumbnail"])
def test_frames_outside_the_instance_are_404_and_malformed_ones_400_with_a_reason(
    admin: Any, shared_data: Path, kind: str
) -> None:
    url = instance_url(
        ingest(shared_data / "dicom/single_files/enhanced_mr_small_10frame_jpegls.dcm")
    )
    beyond = admin.get(f"{url}/frames/11/{kind}")
    assert beyond.status_code == 404
    assert "frame 11 not found: the instance has 10 frames" in beyond.content.decode()
    zero = admin.get(f"{url}/frames/0/{kind}")
    assert zero.status_code == 400 and "frame numbers start at 1" in zero.content.decode()
    for bad in ("1,2", "x", "-1"):
        response = admin.get(f"{url}/frames/{bad}/{kind}")
        assert response.status_code == 400, bad
        assert "one frame per request" in response.content.decode()
