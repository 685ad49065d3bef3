"""An admin opens the dashboard in Debian's chromium: the per-class table shows the active
version's stored figures (precision, recall, F1, support, micro/macro/weighted averages), picking a
second version puts both side by side with the change in F1, and a hyperparameter search started
from the dashboard is queued and listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotations.models import Item
from learning.models import ModelVersion, TrainingRun
from ml_worker.jobs.train import run_training
from tests.browser.support import Browser, sign_in
from tests.cast import CLASSES, label, make_project, synthetic_images
from tests.reports.conftest import train_active_model

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project(alice, settings):  # type: ignore[no-untyped-def]
    """Two model versions, the second trained on more labels."""
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600
    project = make_project(admin=alice, images=40, labelled=26, name="Per-class chest films")
    train_active_model(project)
    items = list(Item.objects.filter(project=project).order_by("pk"))
    _, truth = synthetic_images(40)  # the images make_project stored, in item order
    for index in range(26, 40):
        label(items[index], CLASSES[int(truth[index])])
    second = TrainingRun.objects.create(project=project, config={"max_epochs": 3, "seed": 1})
    assert run_training(second.pk, worker="test") == "succeeded"
    return project


def cell(page: Page, name: str, column: str) -> str:
    row = page.get_by_test_id("class-report").locator(f'tr[data-class="{name}"]')
    return row.locator(f'td[data-col="{column}"]').inner_text()


def test_the_dashboard_shows_a_versions_per_class_table_and_compares_two(  # type: ignore[no-untyped-def]
    browser: Browser, live_server, alice, project, artifacts_dir: Path
) -> None:
    versions = {v.number: v for v in ModelVersion.objects.filter(project=project)}
    active = next(v for v in versions.values() if v.status == "active")
    other = next(v for v in versions.values() if v.pk != active.pk)
    page = browser.new_page()
    sign_in(page, live_server.url, alice.username)
    page.goto(f"{live_server.url}/app/projects/{project.pk}/dashboard")
    card = page.get_by_test_id("class-report")
    expect(card).to_have_attribute("data-version", str(active.number), timeout=20_000)

    test = active.metrics["test"]
    for name in CLASSES:
        stored = test["per_class"][name]
        for metric in ("precision", "recall", "f1"):
            assert cell(page, name, f"after-{metric}") == f"{stored[metric]:.3f}"
        assert cell(page, name, "after-support") == str(stored["support"])
    assert cell(page, "macro", "after-f1") == f"{test['macro_avg']['f1']:.3f}"
    assert cell(page, "weighted", "after-recall") == f"{test['weighted_avg']['recall']:.3f}"
    assert cell(page, "micro", "after-f1") == f"{test['accuracy']:.3f}"

    page.get_by_test_id("class-report-compare").select_option(str(other.number))
    expect(card).to_have_attribute("data-compared", str(other.number))
    before = other.metrics["test"]["per_class"]
    for name in CLASSES:
        assert cell(page, name, "before-f1") == f"{before[name]['f1']:.3f}"
        delta = test["per_class"][name]["f1"] - before[name]["f1"]
        assert cell(page, name, "delta-f1") == f"{'+' if delta >= 0 else ''}{delta:.3f}"

    search = page.get_by_test_id("hparam-search")
    search.get_by_label("Trials").fill("2")
    search.get_by_role("button", name="Start search").click()
    expect(page.get_by_role("status").filter(has_text="Search queued.")).to_be_visible()
    expect(page.get_by_test_id("search-status")).to_have_attribute("data-status", "queued")
    queued = TrainingRun.objects.get(project=project, status="queued")
    assert queued.config["search"]["trials"] == 2
    page.screenshot(path=str(artifacts_dir / "dashboard-class-report.png"), full_page=True)
    assert browser.errors == []
