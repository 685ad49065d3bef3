"""With CPU rendering forced (no WebGL path), the workspace still shows the image with the right
pixel values and a drawn box reaches the server in image coordinates (viewer.md pitfall 4: the
CPU path may differ by half a pixel, hence ±1)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

from annotations.models import Annotation
from tests.browser.support import Browser, ct_slices, drag, sign_in, wait_ready, wait_saved
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cpu_rendering_shows_the_image_and_keeps_boxes_in_image_pixels(
    browser: Browser, live_server, anna, artifacts_dir: Path
) -> None:
    project = make_project(
        dicom=ct_slices(1), task_type="detection", classes=("nodule",), annotator=anna
    )
    page = browser.new_page()
    sign_in(page, live_server.url, "anna")
    page.goto(f"{live_server.url}/app/projects/{project.pk}?cpu=1")
    status = wait_ready(page)
    assert status["backend"] == "cpu"

    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = apply_modality_lut(ds.pixel_array, ds)
    assert page.evaluate("window.__viewerTest.pixelAt(64.5, 64.5)") == [hu[64, 64]]

    page.keyboard.press("b")
    drag(page, [(30, 40), (70, 100)])
    wait_saved(page)
    [box] = Annotation.objects.filter(item__project=project, is_current=True)
    (x0, y0), (x1, y1) = box.payload["points"]
    assert abs(x0 - 30) <= 1 and abs(y0 - 40) <= 1 and abs(x1 - 70) <= 1 and abs(y1 - 100) <= 1
    page.screenshot(path=str(artifacts_dir / "workspace-cpu-rendering.png"))
    assert browser.errors == []
