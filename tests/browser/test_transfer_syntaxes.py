"""Every transfer syntax in the shared data displays, and the grey-scale ones decode in the
browser to exactly the pixel values pydicom gives (modality LUT applied), JPEG 2000 included."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut
from pydicom.uid import generate_uid

from annotations.models import Item
from tests.browser.support import Browser, sign_in, wait_ready
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREY = [
    "ts_mr_siemens_j2k_lossless.dcm",  # JPEG 2000 lossless
    "cr_chest_philips_j2k_lossy.dcm",  # JPEG 2000 (lossy), MONOCHROME1
    "ts_mr_siemens_explicit_le.dcm",
    "ts_mr_siemens_rle.dcm",
    "ts_mr_siemens_jpegls_lossless.dcm",
    "enhanced_mr_small_10frame_jpegls.dcm",  # multi-frame
]
COLOUR = ["us_rgb_ge_j2k_lossless.dcm", "us_palette_philips_rle_2frame.dcm"]


def fresh_copy(path: Path) -> tuple[bytes, str]:
    """The file as stored (pixel data untouched) under new UIDs: the ts_* files are one image in
    four encodings and share their study, series and instance UIDs."""
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue(), path.name


def expected_first_frame(path: Path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    frame = pixels[0] if int(ds.get("NumberOfFrames", 1) or 1) > 1 else pixels
    return np.asarray(apply_modality_lut(frame, ds), dtype=np.float64)


def test_every_shared_transfer_syntax_displays_with_pydicoms_pixel_values(
    browser: Browser, live_server, anna, shared_data: Path, artifacts_dir: Path
) -> None:
    folder = shared_data / "dicom" / "single_files"
    copies = [fresh_copy(folder / name) for name in GREY + COLOUR]
    project = make_project(dicom=[data for data, _ in copies], name="Codecs", annotator=anna)
    file_of = {
        item.pk: name
        for item, (_, name) in zip(
            Item.objects.filter(project=project).order_by("pk"), copies, strict=True
        )
    }
    page = browser.new_page()
    sign_in(page, live_server.url, "anna")
    page.goto(f"{live_server.url}/app/projects/{project.pk}")

    seen: set[str] = set()
    status = wait_ready(page, timeout=60_000)
    while True:
        name = file_of[status["itemId"]]
        seen.add(name)
        total = page.evaluate("window.__viewerTest.pixelSum()")
        assert total, f"{name}: nothing decoded"
        if name in GREY:
            expected = expected_first_frame(folder / name)
            assert total == pytest.approx(expected.sum(), rel=0, abs=1e-6 * expected.size), name
            rows, cols = expected.shape
            for y, x in [(rows // 2, cols // 2), (rows // 3, cols // 4), (rows - 1, cols - 1)]:
                assert page.evaluate(f"window.__viewerTest.pixelAt({x + 0.5}, {y + 0.5})") == [
                    expected[y, x]
                ], f"{name} at row {y}, column {x}"
        if "j2k" in name:
            page.screenshot(path=str(artifacts_dir / f"codec-{Path(name).stem}.png"))
        if len(seen) == len(copies):
            break
        page.keyboard.press("s")
        page.keyboard.press("3")  # skip: not applicable
        try:
            status = wait_ready(page, status["itemId"], timeout=60_000)
        except Exception as exc:
            state = page.evaluate("window.__viewerTest.status()")
            raise AssertionError(f"after {name}: {state} {browser.errors}") from exc

    assert seen == set(GREY + COLOUR)
    assert browser.errors == []
