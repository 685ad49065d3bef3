"""An admin opens the dashboard of a project with a trained model (trained in-process by the real
training job) in Debian's chromium: every chart plots exactly the figures of the dashboard API,
hovering a chart shows its numbers, and the registry's button rolls back to the older version."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from annotations.models import Annotation, Item, Skip, Submission
from learning.models import ModelVersion, TrainingRun
from ml_worker.jobs.train import run_training
from tests.browser.support import Browser, sign_in
from tests.cast import CLASSES, label, make_project, synthetic_images
from tests.reports.conftest import train_active_model

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin(alice, settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600
    return alice


@pytest.fixture
def project(admin, anna):  # type: ignore[no-untyped-def]
    """Two model versions (the second trained on more labels), reads and skips."""
    project = make_project(admin=admin, images=40, labelled=26, name="Dashboard chest films")
    train_active_model(project)
    items = list(Item.objects.filter(project=project).order_by("pk"))
    _, truth = synthetic_images(40)  # the same images make_project stored, in item order
    for index in range(26, 40):
        label(items[index], CLASSES[int(truth[index])])
    second = TrainingRun.objects.create(project=project, config={"max_epochs": 3, "seed": 1})
    assert run_training(second.pk, worker="test") == "succeeded"
    doctor = anna
    for item, ms in zip(items[:4], (1500, 2500, 4000, 9000), strict=True):
        Submission.objects.create(item=item, user=doctor, time_spent_ms=ms)
    Submission.objects.create(item=items[0], user=admin, time_spent_ms=3000)
    Submission.objects.create(item=items[1], user=admin, time_spent_ms=2000)
    # The doctor's answers; the admin read two of the same items and disagreed on the second.
    for index, item in enumerate(items[:4]):
        answer = CLASSES[int(truth[index])]
        Annotation.objects.create(
            item=item, author=doctor, kind="class", source="human", payload={"labels": [answer]}
        )
    for index, item in enumerate(items[:2]):
        answer = CLASSES[int(truth[index])] if index == 0 else CLASSES[1 - int(truth[index])]
        Annotation.objects.create(
            item=item, author=admin, kind="class", source="human", payload={"labels": [answer]}
        )
    Skip.objects.create(item=items[5], user=doctor, reason="poor_quality")
    Skip.objects.create(item=items[6], user=doctor, reason="unsure")
    Skip.objects.create(item=items[7], user=admin, reason="poor_quality")
    return project


def plotted(page: Page, chart: str) -> Any:
    return json.loads(page.get_by_test_id(f"chart-{chart}").get_attribute("data-points") or "null")


def open_dashboard(page: Page, base: str, project_id: int) -> dict[str, Any]:
    page.goto(f"{base}/app/projects/{project_id}/dashboard")
    page.locator('[data-testid="dashboard"][data-loaded="true"]').wait_for(timeout=20_000)
    return page.evaluate(
        "(id) => fetch(`/api/v1/projects/${id}/dashboard`).then((r) => r.json())", project_id
    )


def screenshot(page: Page, path: Path) -> None:
    """The whole dashboard: the page scrolls inside the app shell, so grow the window to it."""
    height = page.evaluate("document.querySelector('[data-testid=dashboard]').scrollHeight")
    page.set_viewport_size({"width": 1366, "height": int(height) + 60})
    page.screenshot(path=str(path))


def xy(xs: list[float], ys: list[float]) -> list[dict[str, float]]:
    return [{"x": x, "y": y} for x, y in zip(xs, ys, strict=True)]


def test_the_charts_plot_the_dashboard_api_figures(
    browser: Browser, live_server, admin, project, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    # Whether a random test split holds both classes decides whether a version has an AUC; the
    # older version's is undefined here on purpose, so the gap is checked on every run.
    older = ModelVersion.objects.filter(project=project).order_by("number").first()
    assert older is not None
    older.metrics["test"]["auc"] = None
    older.save(update_fields=["metrics"])
    page = browser.new_page()
    sign_in(page, live_server.url, admin.username)
    api = open_dashboard(page, live_server.url, project.pk)
    model = api["current_model"]
    assert model is not None and len(api["learning_curve"]["points"]) == 2

    points = sorted(api["learning_curve"]["points"], key=lambda p: (p["labels"], p["version"]))
    curve = plotted(page, "learning-curve")["series"]
    # Every version keeps its place on the AUC line; one without an AUC is a gap (y null).
    assert curve[0] == {
        "label": "test AUC",
        "points": [{"x": p["labels"], "y": p["auc"]} for p in points],
    }
    assert {"x": older.labels_used, "y": None} in curve[0]["points"]
    for name in model["class_names"]:
        assert {
            "label": f"F1 {name}",
            "points": [{"x": p["labels"], "y": p["f1"][name]} for p in points],
        } in curve

    assert plotted(page, "confusion") == model["confusion_matrix"]
    cells = page.get_by_test_id("chart-confusion").locator("tbody td").all_inner_texts()
    assert [int(c) for c in cells] == [n for row in model["confusion_matrix"] for n in row]
    assert plotted(page, "roc") == [
        {"label": f"ROC {name}", "points": xy(curve_["fpr"], curve_["tpr"])}
        for name, curve_ in model["roc"].items()
    ]
    for when in ("before", "after"):
        bins = [b for b in model["reliability"][when] if b["count"]]
        assert plotted(page, "reliability")[when] == [
            {"x": b["confidence"], "y": b["accuracy"]} for b in bins
        ]
        assert bins, f"the reliability diagram {when} calibration has no points"

    doctors = api["labels_per_doctor"]
    assert plotted(page, "labels-per-doctor") == {
        "labels": [d["doctor"] for d in doctors],
        "values": [d["count"] for d in doctors],
    }
    seconds = [d["median_time_ms"] / 1000 for d in doctors]
    assert plotted(page, "time-per-label")["values"] == seconds
    assert plotted(page, "labels-per-day")["values"] == [d["count"] for d in api["labels_per_day"]]
    assert sum(plotted(page, "labels-per-day")["values"]) == 6
    agreement = api["agreement_per_doctor"]
    assert {row["doctor"]: row["with_other_readers"] for row in agreement} == {
        "alice": 0.5,
        "anna": 0.5,
    }
    assert plotted(page, "agreement-per-doctor") == {
        "labels": [row["doctor"] for row in agreement],
        "groups": [
            {
                "label": "agreement with other readers",
                "values": [row["with_other_readers"] for row in agreement],
            },
            {
                "label": "agreement with adjudication",
                "values": [row["with_adjudication"] for row in agreement],
            },
        ],
    }
    assert plotted(page, "skip-reasons") == {
        "labels": [s["reason"] for s in api["skip_reasons"]],
        "values": [s["count"] for s in api["skip_reasons"]],
    }
    queue = api["queue"]
    assert plotted(page, "queue")["values"] == [
        queue["completed"],
        queue["remaining"],
        queue["leased"],
    ]

    # Numbers on hover: the tooltip chart.js draws names the nearest ROC point's rates.
    roc_canvas = page.get_by_test_id("chart-roc").locator("canvas")
    box = roc_canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(page.get_by_test_id("chart-roc")).to_have_attribute(
        "data-tooltip", re.compile(r"false positive rate [\d.]+, true positive rate [\d.]+")
    )
    screenshot(page, artifacts_dir / "dashboard.png")
    assert browser.errors == []


def test_the_registry_rolls_back_to_the_older_version(
    browser: Browser, live_server, admin, project, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    active = ModelVersion.objects.get(project=project, status="active")
    other = ModelVersion.objects.filter(project=project).exclude(pk=active.pk).get()
    page = browser.new_page()
    sign_in(page, live_server.url, admin.username)
    open_dashboard(page, live_server.url, project.pk)

    verb = "Roll back to" if other.number < active.number else "Promote"
    page.get_by_role("button", name=f"{verb} v{other.number}").click()
    done = page.get_by_role("status").filter(has_text=f"v{other.number} is now active")
    expect(done).to_be_visible()
    row = page.get_by_test_id("registry").locator(f'tr[data-version="{other.number}"]')
    expect(row.locator("td").nth(1)).to_have_text("active", timeout=10_000)
    expect(page.get_by_test_id("model-summary")).to_contain_text(f"Active model v{other.number}")
    other.refresh_from_db()
    assert other.status == "active"
    screenshot(page, artifacts_dir / "dashboard-rolled-back.png")
    assert browser.errors == []
