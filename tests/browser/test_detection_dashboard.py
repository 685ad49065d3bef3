"""An admin opens a detection project's dashboard in chromium: the learning curve plots each
version's FROC mean and mAP@0.5 against labels, the table lists the FROC points and mAP per
version, the per-class AP table shows the active version, and the box-edit curve plots the
median edits from a read submitted with its box provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from annotations.models import Annotation, Submission
from tests.browser.support import Browser, sign_in
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def metrics(froc: float, map_50: float) -> dict[str, Any]:
    return {
        "froc": {"0.5": froc - 0.1, "1": froc, "2": froc + 0.05, "4": 0.97},
        "froc_mean": froc,
        "map_50": map_50,
        "map_50_95": map_50 / 2,
        "per_class": {
            "mass": {"ap_50": map_50, "ap_50_95": map_50 / 2, "support": 11},
            "calcification": {"ap_50": 0.25, "ap_50_95": 0.1, "support": 3},
        },
        "n_test_images": 30,
    }


def plotted(page: Page, chart: str) -> Any:
    return json.loads(page.get_by_test_id(chart).get_attribute("data-points") or "null")


def test_the_detection_dashboard_shows_froc_map_and_box_edits(
    browser: Browser, live_server, alice, anna, artifacts_dir: Path
) -> None:
    from learning.models import ModelStatus, ModelVersion

    project = make_project(
        task_type="detection", classes=("mass", "calcification"), items=2, admin=alice
    )
    early = ModelVersion.objects.create(
        project=project, number=1, architecture="retinanet", status=ModelStatus.RETIRED,
        labels_used=20, metrics={"test": metrics(0.6, 0.45)},
    )  # fmt: skip
    late = ModelVersion.objects.create(
        project=project, number=2, architecture="retinanet", status=ModelStatus.ACTIVE,
        labels_used=60, metrics={"test": metrics(0.86, 0.7)},
    )  # fmt: skip
    item = project.items.order_by("pk").first()
    assert item is not None
    Annotation.objects.create(
        item=item, author=anna, kind="box", source="human",
        payload={"label": "mass", "points": [[1, 1], [9, 9]]},
    )  # fmt: skip
    edits = {"suggested_by": early.pk, "shown": 3, "accepted": 2, "moved": 1, "deleted": 1,
             "added": 1, "recomputed": True}  # fmt: skip
    Submission.objects.create(item=item, user=anna, time_spent_ms=2000, box_edits=edits)

    page = browser.new_page()
    sign_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/app/projects/{project.pk}/dashboard")
    page.locator('[data-testid="dashboard"][data-loaded="true"]').wait_for(timeout=20_000)

    curve = plotted(page, "chart-detection-curve")["series"]
    assert curve[0]["label"] == "FROC mean"
    assert curve[0]["points"] == [{"x": 20, "y": 0.6}, {"x": 60, "y": 0.86}]
    assert curve[1]["points"] == [{"x": 20, "y": 0.45}, {"x": 60, "y": 0.7}]
    table = page.get_by_test_id("detection-table")
    assert plotted(page, "detection-table") == [
        {"version": 2, "froc_mean": 0.86, "map_50": 0.7},
        {"version": 1, "froc_mean": 0.6, "map_50": 0.45},
    ]
    row = table.locator('tr[data-version="2"]').all_inner_texts()[0]
    assert "0.760" in row and "0.860" in row and "0.910" in row and "0.970" in row
    per_class = page.get_by_test_id("per-class-ap")
    expect(per_class).to_contain_text("Per-class AP (v2)")
    expect(per_class).to_contain_text("calcification")
    assert plotted(page, "chart-box-edit-curve") == [
        {"label": "median box edits", "points": [{"x": 20, "y": 3}]}
    ]
    expect(page.get_by_test_id("model-summary")).to_contain_text("FROC mean 0.860")
    assert late.status == ModelStatus.ACTIVE
    height = page.evaluate("document.querySelector('[data-testid=dashboard]').scrollHeight")
    page.set_viewport_size({"width": 1366, "height": int(height) + 60})
    page.screenshot(path=str(artifacts_dir / "dashboard-detection.png"))
    assert browser.errors == []
