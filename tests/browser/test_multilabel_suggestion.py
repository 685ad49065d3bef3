"""A doctor on a multi-label project whose suggestions are shown before answering sees, in Debian's
chromium, one probability bar per label (independent sigmoids from the real training and scoring
jobs, on real PneumoniaMNIST images), the labels at or above 50 % marked as suggested."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotations.models import Annotation, Item, Project
from learning.models import ModelVersion, RunStatus, Score, TrainingRun
from ml_worker.jobs.score import score_with_version
from ml_worker.jobs.train import run_training
from tests.browser.support import Browser, sign_in, wait_ready
from tests.cast import dicom_images, make_project
from tests.learning.test_multilabel_training import LABELS, QUICK, pneumonia_with_brightness

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project(alice, anna, settings, shared_data) -> Project:  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600
    images, answers = pneumonia_with_brightness(shared_data, 56)
    project = make_project(
        admin=alice,
        annotator=anna,
        classes=LABELS,
        multi_label=True,
        dicom=dicom_images(images),
        input_size=28,
        retrain_every=1000,
        suggestions="before",
    )
    items = list(Item.objects.filter(project=project).order_by("pk"))
    for item, labels in zip(items[:48], answers, strict=False):
        Annotation.objects.create(
            item=item, kind="class", source="imported", payload={"labels": labels}
        )
    run = TrainingRun.objects.create(project=project, config=QUICK)
    assert run_training(run.pk, worker="test") == RunStatus.SUCCEEDED
    version = ModelVersion.objects.get(runs=run)
    score_with_version(version.pk)
    return project


def test_the_doctor_sees_each_labels_probability(  # type: ignore[no-untyped-def]
    browser: Browser, live_server, anna, project, artifacts_dir: Path
) -> None:
    page = browser.new_page()
    sign_in(page, live_server.url, anna.username)
    page.goto(f"{live_server.url}/app/projects/{project.pk}")
    item_id = wait_ready(page)["itemId"]
    score = Score.objects.get(item_id=item_id, model_version__status="active")
    probabilities = dict(zip(LABELS, score.probabilities, strict=True))

    suggestion = page.get_by_test_id("suggestion")
    expect(suggestion).to_contain_text("Each label scored on its own")
    bars = page.get_by_test_id("label-probabilities").locator("li")
    expect(bars).to_have_count(len(LABELS))
    shown = {}
    for index in range(len(LABELS)):
        name, _bar, percent = bars.nth(index).locator("span").all_inner_texts()
        shown[name] = (percent, bars.nth(index).get_attribute("data-suggested"))
    for name in LABELS:
        p = probabilities[name]
        assert shown[name] == (f"{p * 100:.1f}%", "true" if p >= 0.5 else "false")
    suggested = [n for n in LABELS if probabilities[n] >= 0.5]
    expect(suggestion.locator("strong")).to_have_text(", ".join(suggested) or "no finding")
    page.screenshot(path=str(artifacts_dir / "multilabel-suggestion.png"))
    assert browser.errors == []
