"""An admin chooses the science on the dashboard: an invalid input size is refused with its
reason next to the field; ResNet-18 with left-right flips and a frozen backbone is saved; a
checkpoint in torchvision naming is uploaded; "Retrain now" on a real Celery worker makes a new
model version that started from that checkpoint (its sha256 recorded) and trained with those
settings (decision 0380, 0381)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotations.models import Project
from learning.models import ModelVersion
from tests.browser.support import Browser, sign_in
from tests.cast import make_project
from tests.ml.test_transfer_learning import torchvision_style_resnet

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_an_admin_sets_resnet18_with_flips_and_a_frozen_backbone_and_retrains(
    browser: Browser, live_server, celery_worker, alice, tmp_path: Path, artifacts_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin=alice, images=24, labelled=24, name="Model settings")
    page = browser.new_page()
    sign_in(page, live_server.url, alice.username)
    page.goto(f"{live_server.url}/app/projects/{project.pk}/dashboard")
    settings = page.get_by_test_id("model-settings")
    settings.get_by_role("button", name="Save model settings").wait_for(timeout=30_000)

    # An invalid value: refused, its reason beside the field, nothing saved.
    settings.get_by_label("Input size (px)").fill("8")
    settings.get_by_role("button", name="Save model settings").click()
    expect(settings.get_by_test_id("error-input_size")).to_contain_text("between")
    assert Project.objects.get(pk=project.pk).input_size == 28

    settings.get_by_label("Architecture").select_option("resnet18")
    settings.get_by_label("Input size (px)").fill("32")
    settings.get_by_label("Channels").select_option("3")
    settings.get_by_label("Flip left").check()
    settings.get_by_label("Freeze").select_option("all_but_head")
    settings.get_by_role("button", name="Save model settings").click()
    expect(settings.get_by_test_id("model-settings-note")).to_contain_text("saved")
    expect(settings.get_by_test_id("error-input_size")).to_have_count(0)
    saved = Project.objects.get(pk=project.pk)
    assert (saved.architecture, saved.input_size) == ("resnet18", 32)
    assert saved.model_settings["augmentation"]["flip_horizontal"] is True
    assert saved.model_settings["freeze"]["mode"] == "all_but_head"

    checkpoint = tmp_path / "resnet18-imagenet.pth"
    torchvision_style_resnet(checkpoint, 18)
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    settings.get_by_label("Checkpoint file").set_input_files(str(checkpoint))
    settings.get_by_role("button", name="Upload checkpoint").click()
    expect(settings.get_by_test_id("pretrained-current")).to_contain_text(sha[:12])
    page.screenshot(path=str(artifacts_dir / "model-settings.png"), full_page=True)

    page.get_by_label("Epochs", exact=True).fill("2")
    page.get_by_role("button", name="Retrain now").click()
    expect(page.locator('[data-testid="registry"] tr[data-version="1"]')).to_be_visible(
        timeout=300_000
    )
    version = ModelVersion.objects.get(project=project, number=1)
    assert version.architecture == "resnet18"
    assert version.config["pretrained"]["sha256"] == sha
    assert version.config["training"]["freeze"] == "all_but_head"
    assert version.config["training"]["augment"]["flip_horizontal"] is True
    page.screenshot(path=str(artifacts_dir / "model-settings-retrained.png"), full_page=True)
    # The one refused PATCH is logged by Chromium as a failed resource; nothing else may be.
    refused = [e for e in browser.errors if "status of 400" in e]
    assert len(refused) <= 1
    assert [e for e in browser.errors if e not in refused] == []
