"""A doctor draws a box, a polygon and a brush stroke; the server holds them in image pixel
coordinates within ±1 pixel, moving a handle makes a new version of the same annotation, and
after a reload the same shapes come back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations.models import Annotation
from annotations.payloads import decode_mask
from tests.browser.support import (
    Browser,
    ct_slices,
    drag,
    image_to_page,
    sign_in,
    wait_ready,
    wait_saved,
)
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def close_to(
    actual: list[list[float]], expected: list[list[float]], tolerance: float = 1.0
) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= tolerance
        for pa, pe in zip(actual, expected, strict=True)
        for a, e in zip(pa, pe, strict=True)
    )


def current(project) -> list[Annotation]:  # type: ignore[no-untyped-def]
    return list(Annotation.objects.filter(item__project=project, is_current=True, deleted=False))


def test_a_box_is_stored_in_image_pixels_and_a_moved_handle_updates_it(
    browser: Browser, live_server, anna, artifacts_dir: Path
) -> None:
    project = make_project(
        dicom=ct_slices(1), task_type="detection", classes=("nodule", "mass"), annotator=anna
    )
    page = browser.new_page()
    sign_in(page, live_server.url, "anna")
    page.goto(f"{live_server.url}/app/projects/{project.pk}")
    item_id = wait_ready(page)["itemId"]

    page.keyboard.press("b")
    drag(page, [(20, 30), (80, 90)])
    wait_saved(page)
    [box] = current(project)
    assert box.kind == "box" and box.payload["label"] == "nodule"
    assert close_to(box.payload["points"], [[20, 30], [80, 90]]), box.payload

    drag(page, [(80, 90), (100, 104)])  # the bottom-right handle of the selected box
    wait_saved(page)
    [moved] = current(project)
    assert moved.uid == box.uid and moved.version == 2
    assert close_to(moved.payload["points"], [[20, 30], [100, 104]]), moved.payload
    page.screenshot(path=str(artifacts_dir / "workspace-box.png"))

    page.reload()
    assert wait_ready(page)["itemId"] == item_id
    shapes = page.evaluate("window.__viewerTest.annotations()")
    assert [(s["uid"], s["kind"]) for s in shapes] == [(str(box.uid), "box")]
    assert page.locator(f'[data-uid="{box.uid}"]').count() == 1
    assert browser.errors == []


def test_a_polygon_and_a_brush_stroke_come_back_after_a_reload(
    browser: Browser, live_server, anna, artifacts_dir: Path
) -> None:
    project = make_project(
        dicom=ct_slices(1), task_type="segmentation", classes=("lesion", "organ"), annotator=anna
    )
    page = browser.new_page()
    sign_in(page, live_server.url, "anna")
    page.goto(f"{live_server.url}/app/projects/{project.pk}")
    item_id = wait_ready(page)["itemId"]

    page.keyboard.press("g")
    corners = [(20, 20), (90, 25), (60, 100)]
    for corner in corners:
        page.mouse.click(*image_to_page(page, *corner))
    page.keyboard.press("Enter")  # closes the polygon; it does not submit
    page.keyboard.press("Escape")  # deselect: a number key would relabel the selected polygon
    page.keyboard.press("2")  # the brush paints "organ"
    page.keyboard.press("r")
    drag(page, [(30, 60), (90, 60)])
    wait_saved(page)

    by_kind = {a.kind: a for a in current(project)}
    assert set(by_kind) == {"polygon", "mask"}
    polygon, mask = by_kind["polygon"], by_kind["mask"]
    assert polygon.payload["label"] == "lesion"
    assert close_to(polygon.payload["points"], [list(c) for c in corners])
    assert mask.payload["label"] == "organ" and mask.payload["size"] == [128, 128]
    pixels = decode_mask(mask.payload["size"], mask.payload["counts"])
    rows, cols = np.nonzero(pixels)
    radius = page.evaluate("window.__viewerTest.status().brush")
    # The stroke covers the segment (30..90, 60) widened by the brush radius, within a pixel.
    assert cols.min() >= 30 - radius - 1 and cols.max() <= 90 + radius + 1
    assert rows.min() >= 60 - radius - 1 and rows.max() <= 60 + radius + 1
    assert pixels[60, 30:90].all()
    page.screenshot(path=str(artifacts_dir / "workspace-polygon-brush.png"))

    page.reload()
    assert wait_ready(page)["itemId"] == item_id
    shapes = {s["uid"]: s for s in page.evaluate("window.__viewerTest.annotations()")}
    assert set(shapes) == {str(polygon.uid), str(mask.uid)}
    assert shapes[str(mask.uid)]["payload"]["counts"] == mask.payload["counts"]
    assert page.locator(f'[data-uid="{polygon.uid}"]').count() == 1
    assert browser.errors == []
