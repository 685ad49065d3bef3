"""A doctor signs in and labels five images with the keyboard alone; the server records five
reads, each with the class the doctor pressed, and the workspace says the queue is empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from annotations.models import Annotation, Item
from tests.browser.support import Browser, ct_slices, sign_in, wait_ready, wait_saved
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_doctor_labels_five_images_by_keyboard_only(
    browser: Browser, live_server, anna, artifacts_dir: Path
) -> None:
    project = make_project(dicom=ct_slices(5), name="Chest triage", annotator=anna)
    page = browser.new_page()
    sign_in(page, live_server.url, "anna")

    # Keyboard only: Tab to the project link, Enter to open it.
    link = page.get_by_test_id(f"project-{project.pk}")
    for _ in range(12):
        page.keyboard.press("Tab")
        if link.evaluate("el => el === document.activeElement"):
            break
    page.keyboard.press("Enter")

    answers = {}
    status = wait_ready(page)
    for n in range(5):
        item_id = status["itemId"]
        key = "2" if n % 2 else "1"
        page.keyboard.press(key)
        wait_saved(page)
        answers[item_id] = "pneumonia" if key == "2" else "normal"
        if n == 2:
            page.screenshot(path=str(artifacts_dir / "workspace-classification.png"))
        page.keyboard.press("Enter")
        if n < 4:
            status = wait_ready(page, item_id)

    expect(page.get_by_test_id("queue-done")).to_be_visible(timeout=15_000)
    expect(page.get_by_test_id("progress")).to_contain_text("5 submitted by you")

    items = Item.objects.filter(project=project)
    assert sorted(answers) == sorted(items.values_list("pk", flat=True))
    for item in items:
        assert item.reads_done == 1
        current = Annotation.objects.get(item=item, is_current=True, deleted=False)
        assert current.kind == "class"
        assert current.payload == {"labels": [answers[item.pk]]}
    assert browser.errors == []
