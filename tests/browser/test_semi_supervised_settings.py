"""An admin turns on semi-supervised training in the model settings form (decision 0420): a
confidence gate outside its range is refused with the reason beside the field and nothing is
saved; a valid choice is stored in the project's model settings, which the next run reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotations.models import Project
from tests.browser.support import Browser, sign_in
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_turns_on_semi_supervised_training_and_a_bad_gate_is_refused(
    browser: Browser, live_server, alice, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=alice, images=8, labelled=4, name="Semi-supervised")
    page = browser.new_page()
    sign_in(page, live_server.url, alice.username)
    page.goto(f"{live_server.url}/app/projects/{project.pk}/dashboard")
    settings = page.get_by_test_id("model-settings")
    save = settings.get_by_role("button", name="Save model settings")
    save.wait_for(timeout=30_000)

    settings.get_by_label("Also learn from unlabelled images").check()
    settings.get_by_label("Method").select_option("pseudo_label")
    settings.get_by_label("Confidence gate").fill("1.5")
    save.click()
    expect(settings.get_by_test_id("error-semi_supervised.threshold")).to_be_visible()
    stored = Project.objects.get(pk=project.pk).model_settings.get("semi_supervised") or {}
    assert not stored.get("enabled")

    settings.get_by_label("Confidence gate").fill("0.9")
    settings.get_by_label("Unlabelled images per run (at most)").fill("500")
    save.click()
    expect(settings.get_by_test_id("model-settings-note")).to_contain_text("saved")
    expect(settings.get_by_test_id("error-semi_supervised.threshold")).to_have_count(0)
    semi = Project.objects.get(pk=project.pk).model_settings["semi_supervised"]
    assert semi["enabled"] is True and semi["method"] == "pseudo_label"
    assert semi["threshold"] == pytest.approx(0.9) and semi["max_unlabeled"] == 500
    page.screenshot(path=str(artifacts_dir / "semi-supervised-settings.png"), full_page=True)
    refused = [e for e in browser.errors if "status of 400" in e]
    assert len(refused) <= 1
    assert [e for e in browser.errors if e not in refused] == []


def test_a_segmentation_admin_turns_it_on_with_fixmatch_the_only_method(
    browser: Browser, live_server, alice, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """Decision 0427: a segmentation project's U-Net learns from unlabelled images by FixMatch
    alone; the form offers only that method and stores the switch."""
    project = make_project(
        admin=alice, task_type="segmentation", classes=("lesion",), name="Lesions"
    )
    page = browser.new_page()
    sign_in(page, live_server.url, alice.username)
    page.goto(f"{live_server.url}/app/projects/{project.pk}/dashboard")
    settings = page.get_by_test_id("model-settings")
    save = settings.get_by_role("button", name="Save model settings")
    save.wait_for(timeout=30_000)
    method = settings.get_by_label("Method")
    expect(method.locator("option")).to_have_count(1)
    expect(method.locator("option")).to_have_text(["fixmatch"])
    settings.get_by_label("Also learn from unlabelled images").check()
    save.click()
    expect(settings.get_by_test_id("model-settings-note")).to_contain_text("saved")
    semi = Project.objects.get(pk=project.pk).model_settings["semi_supervised"]
    assert semi["enabled"] is True and semi["method"] == "fixmatch"
    page.screenshot(path=str(artifacts_dir / "semi-supervised-segmentation.png"), full_page=True)
    assert browser.errors == []
