"""A doctor on a project whose model's suggestions are shown before answering turns the heat map
on in the workspace in Debian's chromium: the map (computed by the real explain job) lies over
the image at the opacity the slider shows, follows the slider, and goes away when turned off."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from reports.models import HeatMap

from annotations.models import Item, Project
from ml_worker.explain_tasks import compute_heatmap
from tests.browser.support import Browser, sign_in, wait_ready
from tests.cast import make_project
from tests.reports.conftest import train_active_model

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project(alice, anna, settings) -> Project:  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600
    project = make_project(
        admin=alice, annotator=anna, images=24, labelled=18, suggestions="before"
    )
    train_active_model(project)
    return project


def heat_map_ready_for(page: Page, item_id: int) -> None:
    """The doctor's own request queues the map; the explain job computes it here, in-process."""
    status = page.evaluate(
        "(id) => fetch(`/api/v1/items/${id}/heatmap`).then((r) => r.status)", item_id
    )
    assert status == 202
    assert compute_heatmap(HeatMap.objects.get(item_id=item_id).pk) == "ready"


def opacity_of(overlay: Locator) -> float:
    return float(overlay.evaluate("(img) => getComputedStyle(img).opacity"))


def test_the_doctor_toggles_the_heat_map_and_sets_its_opacity(
    browser: Browser, live_server, anna, project, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    sign_in(page, live_server.url, anna.username)
    page.goto(f"{live_server.url}/app/projects/{project.pk}")
    item_id = wait_ready(page)["itemId"]
    assert Item.objects.filter(pk=item_id, project=project).exists()
    suggestion = page.get_by_test_id("suggestion")
    expect(suggestion).to_contain_text("Model suggests")
    heat_map_ready_for(page, item_id)

    overlay = page.get_by_test_id("heatmap")
    slider = page.get_by_label("Heat-map opacity")
    expect(overlay).to_have_count(0)
    expect(slider).to_have_count(0)  # no slider for a map that is not shown

    toggle = suggestion.get_by_role("button", name="Heat map")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(overlay).to_be_visible()
    page.wait_for_function(
        "() => { const img = document.querySelector('[data-testid=heatmap]');"
        " return img && img.complete && img.naturalWidth > 0; }",
        timeout=10_000,
    )
    assert overlay.evaluate("(img) => img.naturalWidth") > 0
    assert overlay.evaluate("(img) => new URL(img.src).pathname") == (
        f"/api/v1/items/{item_id}/heatmap"
    )
    expect(slider).to_be_visible()
    value = float(slider.input_value())
    assert value == 50
    assert opacity_of(overlay) == pytest.approx(value / 100)
    page.screenshot(path=str(artifacts_dir / "heatmap-overlay.png"))

    slider.fill("80")
    expect(page.locator(".heatmap-opacity output")).to_have_text("80%")
    assert float(slider.input_value()) == 80
    assert opacity_of(overlay) == pytest.approx(0.8)
    slider.fill("20")
    assert opacity_of(overlay) == pytest.approx(0.2)

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(overlay).to_have_count(0)
    expect(slider).to_have_count(0)
    assert browser.errors == []
