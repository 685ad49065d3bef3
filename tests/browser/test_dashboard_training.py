"""An admin starts a training run with "Retrain now" on the dashboard, a real Celery worker trains
it, the run's progress bar moves epoch by epoch, and "Cancel" stops it: the run ends "cancelled"
and no model version is made. The live workers list shows the worker and its queues."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from learning.models import ModelVersion, TrainingRun
from tests.browser.support import Browser, sign_in
from tests.cast import make_project

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def progress_of(page: Page, run_id: int) -> float:
    value = page.get_by_test_id(f"run-progress-{run_id}").get_attribute("data-progress")
    return float(value) if value else 0.0


def wait_progress_above(page: Page, run_id: int, floor: float, timeout: float) -> float:
    page.wait_for_function(
        """([id, floor]) => {
            const bar = document.querySelector(`[data-testid="run-progress-${id}"]`);
            const value = bar && bar.getAttribute("data-progress");
            return value !== null && value !== "" && Number(value) > floor;
        }""",
        arg=[run_id, floor],
        timeout=timeout,
    )
    return progress_of(page, run_id)


def test_retrain_now_shows_progress_and_cancel_stops_the_run(
    browser: Browser, live_server, celery_worker, alice, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    admin = alice
    project = make_project(admin=admin, images=48, labelled=48, name="Training from the dashboard")
    page = browser.new_page()
    sign_in(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}/app/projects/{project.pk}/dashboard")
    page.locator('[data-testid="dashboard"][data-loaded="true"]').wait_for(timeout=20_000)
    expect(page.locator("[data-worker]").first).to_contain_text("train", timeout=20_000)

    # Many epochs and no early stop, so the run is still training when we cancel it.
    page.get_by_label("Epochs", exact=True).fill("300")
    page.get_by_label("Patience").fill("100")
    page.get_by_role("button", name="Retrain now").click()
    expect(page.get_by_role("status").filter(has_text="Training run queued")).to_be_visible()
    run = TrainingRun.objects.get(project=project)
    assert run.config["max_epochs"] == 300 and run.requested_by == admin

    first = wait_progress_above(page, run.pk, 0.0, timeout=180_000)
    later = wait_progress_above(page, run.pk, first, timeout=120_000)
    assert 0 < first < later < 1
    expect(page.get_by_test_id(f"run-status-{run.pk}")).to_have_text("running")
    loss = page.get_by_test_id("chart-loss")
    assert loss.get_attribute("data-points") not in (None, "", "null")
    page.screenshot(path=str(artifacts_dir / "dashboard-training.png"))

    page.locator(f'tr[data-run="{run.pk}"]').get_by_role("button", name="Cancel").click()
    expect(page.get_by_test_id(f"run-status-{run.pk}")).to_have_text("cancelled", timeout=120_000)
    run.refresh_from_db()
    assert run.status == "cancelled" and run.cancel_requested
    assert not ModelVersion.objects.filter(project=project).exists()
    page.screenshot(path=str(artifacts_dir / "dashboard-training-cancelled.png"))
    assert browser.errors == []
