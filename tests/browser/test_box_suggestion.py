"""A doctor opens a detection item with three proposed boxes (a fourth scores under the
project's threshold and is not shown), rejects one with a click, accepts the other two with A,
resizes one of them by its handle, draws one more and submits. The server holds exactly those
three boxes, the two accepted with their provenance (model version, score, moved) and the
read's edit counts (accepted 2, moved 1, deleted 1, added 1), which it counted itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.models import Annotation, Submission
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

PROPOSED = [
    {"label": "mass", "points": [[10, 10], [40, 40]], "score": 0.93},
    {"label": "mass", "points": [[60, 10], [100, 40]], "score": 0.81},
    {"label": "calcification", "points": [[10, 60], [40, 100]], "score": 0.62},
    {"label": "mass", "points": [[70, 70], [80, 80]], "score": 0.2},
]


def test_proposed_boxes_are_accepted_rejected_resized_and_added_with_provenance(
    browser: Browser, live_server, anna, artifacts_dir: Path
) -> None:
    from learning.models import ModelStatus, ModelVersion, Score

    project = make_project(
        dicom=ct_slices(1),
        task_type="detection",
        classes=("mass", "calcification"),
        annotator=anna,
        suggestions="before",
    )
    (item,) = project.items.all()
    version = ModelVersion.objects.create(
        project=project, number=3, architecture="retinanet", status=ModelStatus.ACTIVE
    )
    Score.objects.create(
        item=item,
        model_version=version,
        strategy="det_uncertainty",
        value=0.5,
        suggestion={"kind": "boxes", "frame": 1, "boxes": PROPOSED},
    )

    page = browser.new_page()
    sign_in(page, live_server.url, "anna")
    page.goto(f"{live_server.url}/app/projects/{project.pk}")
    assert wait_ready(page)["itemId"] == item.pk
    panel = page.get_by_test_id("box-suggestion")
    assert panel.get_attribute("data-state") == "pending"
    assert panel.get_attribute("data-shown") == "3" and "model 3" in panel.inner_text()
    drawn = page.locator("[data-suggested-index]")
    assert drawn.count() == 3  # 0.2 is under the threshold (0.5): not shown
    assert "mass 0.93" in page.locator('[data-suggested-index="0"]').text_content() or ""
    page.screenshot(path=str(artifacts_dir / "workspace-box-suggestion-pending.png"))

    # A click on a proposed box (select tool) rejects it; nothing is saved yet.
    page.keyboard.press("v")
    page.mouse.click(*image_to_page(page, 25, 80))
    page.wait_for_function("() => document.querySelectorAll('[data-suggested-index]').length === 2")
    assert panel.get_attribute("data-shown") == "2"
    assert not Annotation.objects.filter(item=item).exists()

    page.keyboard.press("a")  # accept the two still shown
    wait_saved(page)
    assert panel.get_attribute("data-state") == "accepted"
    accepted = {
        a.provenance["box_index"]: a
        for a in Annotation.objects.filter(item=item, is_current=True, kind="box")
    }
    assert sorted(accepted) == [0, 1]
    assert accepted[0].payload["points"] == [[10, 10], [40, 40]]

    # Select the first and drag its bottom-right handle: moved, same annotation, version 2.
    page.mouse.click(*image_to_page(page, 25, 25))
    drag(page, [(40, 40), (46, 50)])
    wait_saved(page)
    # Draw one of the doctor's own.
    page.keyboard.press("b")
    drag(page, [(60, 60), (110, 110)])
    wait_saved(page)
    page.screenshot(path=str(artifacts_dir / "workspace-box-suggestion.png"))
    page.keyboard.press("Enter")
    page.wait_for_function(
        """(id) => {
            const s = window.__viewerTest.status();
            return s.state !== 'ready' || s.itemId !== id;
        }""",
        arg=item.pk,
        timeout=10_000,
    )

    boxes = list(Annotation.objects.filter(item=item, is_current=True, deleted=False))
    assert len(boxes) == 3 and {b.kind for b in boxes} == {"box"}
    by_index = {b.provenance["box_index"]: b for b in boxes if b.provenance}
    [drawn_box] = [b for b in boxes if b.provenance is None]
    assert drawn_box.payload["label"] == "mass"
    resized = by_index[0]
    assert resized.uid == accepted[0].uid and resized.version == 2
    assert abs(resized.payload["points"][1][0] - 46) <= 1
    assert resized.provenance["suggested_by"] == version.pk
    assert resized.provenance["moved"] is True and resized.provenance["score"] == 0.93
    assert resized.provenance["recomputed"] is True and resized.provenance["iou"] < 1
    kept = by_index[1]
    assert kept.payload["points"] == [[60, 10], [100, 40]]
    assert (kept.provenance["moved"], kept.provenance["iou"]) == (False, 1.0)
    # The submit's POST may still be on its way when the loop leaves the item: bounded wait.
    for _ in range(100):
        submission = Submission.objects.filter(item=item, user=anna).first()
        if submission is not None:
            break
        page.wait_for_timeout(100)
    assert submission is not None
    assert submission.box_edits == {
        "suggested_by": version.pk,
        "shown": 3,
        "accepted": 2,
        "moved": 1,
        "deleted": 1,
        "added": 1,
        "recomputed": True,
    }
    assert browser.errors == []
