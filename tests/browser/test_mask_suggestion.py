"""A doctor opens a segmentation item with the model's suggested mask, accepts it with A,
erases part of it, submits; the server holds the edited mask with its provenance (model
version, accepted) and the edit counts it recomputed itself (pixels removed > 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotations.models import Annotation, Submission
from annotations.payloads import decode_mask, encode_mask
from tests.browser.support import Browser, ct_slices, drag, sign_in, wait_ready, wait_saved
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_suggested_mask_is_accepted_corrected_and_submitted_with_provenance(
    browser: Browser, live_server, anna, artifacts_dir: Path
) -> None:
    from learning.models import ModelStatus, ModelVersion, Score

    project = make_project(
        dicom=ct_slices(1),
        task_type="segmentation",
        classes=("lesion", "organ"),
        annotator=anna,
        suggestions="before",
    )
    (item,) = project.items.all()
    suggested = np.zeros((128, 128), dtype=bool)
    suggested[30:70, 30:70] = True  # 1,600 pixels of "lesion"
    version = ModelVersion.objects.create(
        project=project, number=4, architecture="unet", status=ModelStatus.ACTIVE, labels_used=30
    )
    Score.objects.create(
        item=item,
        model_version=version,
        strategy="seg_entropy",
        value=0.5,
        suggestion={
            "kind": "mask",
            "frame": 1,
            "masks": [{"label": "lesion", **encode_mask(suggested)}],
        },
    )

    page = browser.new_page()
    sign_in(page, live_server.url, "anna")
    page.goto(f"{live_server.url}/app/projects/{project.pk}")
    assert wait_ready(page)["itemId"] == item.pk
    panel = page.get_by_test_id("mask-suggestion")
    assert panel.get_attribute("data-state") == "pending"
    assert "model 4" in panel.inner_text()
    assert not Annotation.objects.filter(item=item).exists()  # shown, not yet the doctor's
    # The suggestion is drawn on the mask layer (faint, in the class colour) before any answer.
    painted = page.evaluate(
        """() => {
            const canvas = document.querySelector('canvas.mask-layer');
            const ctx = canvas.getContext('2d');
            const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
            return n;
        }"""
    )
    assert painted > 0
    page.screenshot(path=str(artifacts_dir / "workspace-mask-suggestion-pending.png"))

    page.keyboard.press("a")
    wait_saved(page)
    assert panel.get_attribute("data-state") == "accepted"
    [accepted] = Annotation.objects.filter(item=item, is_current=True)
    assert accepted.payload["label"] == "lesion"
    assert (decode_mask(accepted.payload["size"], accepted.payload["counts"]) == suggested).all()
    assert accepted.provenance["suggested_by"] == version.pk
    assert (accepted.provenance["pixels_added"], accepted.provenance["pixels_removed"]) == (0, 0)

    page.keyboard.press("e")  # the eraser clears the active class, "lesion"
    drag(page, [(32, 50), (68, 50)])
    wait_saved(page)
    page.screenshot(path=str(artifacts_dir / "workspace-mask-suggestion.png"))
    page.keyboard.press("Enter")
    # Submitted: the loop leaves this item (the queue is then empty).
    page.wait_for_function(
        """(id) => {
            const s = window.__viewerTest.status();
            return s.state !== 'ready' || s.itemId !== id;
        }""",
        arg=item.pk,
        timeout=10_000,
    )

    [edited] = Annotation.objects.filter(item=item, is_current=True, deleted=False)
    assert edited.uid == accepted.uid and edited.version == 2
    pixels = decode_mask(edited.payload["size"], edited.payload["counts"])
    assert not pixels[50, 40:60].any() and pixels[35, 35] and not (pixels & ~suggested).any()
    removed = int((suggested & ~pixels).sum())
    assert edited.provenance == {
        "suggested_by": version.pk,
        "accepted": True,
        "pixels_added": 0,
        "pixels_removed": removed,
        "suggestion_pixels": 1600,
        "recomputed": True,
    }
    assert removed > 0
    # The submit's POST may still be on its way when the loop leaves the item: bounded wait.
    for _ in range(100):
        submission = Submission.objects.filter(item=item, user=anna).first()
        if submission is not None:
            break
        page.wait_for_timeout(100)
    assert submission is not None and submission.time_spent_ms > 0
    assert browser.errors == []
