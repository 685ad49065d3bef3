"""An admin sets up a project in the browser, keyboard first: creates a segmentation project
with three classes (colours and keys), sees the reason for an invalid value next to its field,
invites an existing doctor as annotator and a new person by e-mail as reviewer. The doctor then
finds the project in their list, and the invitee sets a password through the one-time link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from playwright.sync_api import expect

from annotations.models import LabelClass, Membership, Project
from tests.browser.support import Browser, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLASSES = [("liver", "#3fb950", "l"), ("lesion", "#f85149", "k"), ("vessel", "#58a6ff", "v")]


def test_an_admin_creates_a_project_and_invites_the_team(
    browser: Browser, live_server, alice, anna, artifacts_dir: Path
) -> None:
    # A department lead allowed to create projects (not a site superuser).
    alice.user_permissions.add(Permission.objects.get(codename="add_project"))
    page = browser.new_page()
    sign_in(page, live_server.url, "alice")

    page.get_by_test_id("new-project").click()
    expect(page.get_by_role("heading", name="New project")).to_be_visible(timeout=20_000)
    page.get_by_label("Name", exact=True).fill("Liver lesions")
    page.get_by_label("Instructions for the doctors (Markdown)").fill(
        "Outline **every** lesion.\n\n<script>alert(1)</script>"
    )
    page.get_by_label("Task type").select_option("segmentation")
    for index, (name, colour, key) in enumerate(CLASSES, start=1):
        page.get_by_role("button", name="Add class").click()
        page.get_by_label(f"Name of class {index}").fill(name)
        page.get_by_label(f"Colour of class {index}").fill(colour)
        page.get_by_label(f"Key of class {index}").fill(key)
    # The strategy list follows the task: a segmentation strategy, with its line.
    expect(page.get_by_label("Strategy: which image comes next")).to_have_value("seg_budget_aware")
    expect(page.locator("#strategy-hint")).to_contain_text("Random until the model learns")

    readers = page.get_by_label("Readers per item")
    readers.fill("0")
    readers.press("Enter")  # Enter in any field saves
    error = page.get_by_test_id("readers_per_item-error")
    expect(error).to_have_text("1 to 20 readers per item", timeout=10_000)
    expect(readers).to_have_attribute("aria-invalid", "true")
    expect(readers).to_have_attribute("aria-describedby", re.compile("readers_per_item-error"))
    page.screenshot(path=str(artifacts_dir / "project-settings-invalid.png"), full_page=True)
    assert not Project.objects.filter(name="Liver lesions").exists()  # nothing half-saved

    readers.fill("2")
    readers.press("Enter")
    expect(page.get_by_role("heading", name="Team · Liver lesions")).to_be_visible(timeout=10_000)
    project = Project.objects.get(name="Liver lesions")
    assert (project.task_type, project.readers_per_item) == ("segmentation", 2)
    assert [
        (c.name, c.color, c.shortcut) for c in LabelClass.objects.filter(project=project)
    ] == CLASSES
    expect(page.get_by_test_id("team-status")).to_contain_text("Project created")

    # The team: the creator is its admin; add the doctor by username, invite a new reviewer.
    expect(page.get_by_test_id("member-alice")).to_contain_text("admin")
    who = page.get_by_label("Username or e-mail")
    who.fill("anna")
    page.get_by_label("Role", exact=True).select_option("annotator")
    who.press("Enter")
    expect(page.get_by_test_id("member-anna")).to_be_visible(timeout=10_000)
    expect(page.get_by_label("Role of anna")).to_have_value("annotator")

    who.fill("rosa@clinic.test")
    page.get_by_label("Role", exact=True).select_option("reviewer")
    who.press("Enter")
    expect(page.get_by_test_id("member-rosa@clinic.test")).to_contain_text(
        "invited", timeout=10_000
    )
    link = page.get_by_label(re.compile("One-time link for rosa@clinic.test")).input_value()
    assert link.startswith(f"{live_server.url}/accounts/invite/")
    (message,) = mail.outbox
    assert message.to == ["rosa@clinic.test"] and link in message.body
    page.screenshot(path=str(artifacts_dir / "project-team.png"), full_page=True)
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"alice": "admin", "anna": "annotator", "rosa@clinic.test": "reviewer"}

    # The last admin cannot step down; the reason shows in her row and nothing changes.
    page.get_by_label("Role of alice").select_option("reviewer")
    expect(page.get_by_test_id("member-alice")).to_contain_text(
        "a project needs at least one admin", timeout=10_000
    )
    expect(page.get_by_label("Role of alice")).to_have_value("admin")

    # The settings page shows the saved instructions rendered safely.
    page.get_by_test_id("admin-settings").click()
    expect(page.get_by_role("heading", name="Settings · Liver lesions")).to_be_visible()
    page.get_by_text("Preview of the saved instructions").click()
    preview = page.locator(".instructions-preview .markdown")
    expect(preview.locator("strong")).to_have_text("every")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # shown as text, not run
    page.screenshot(path=str(artifacts_dir / "project-settings.png"), full_page=True)

    # The doctor finds the project in their list.
    page.get_by_role("button", name="Log out").click()
    sign_in(page, live_server.url, "anna")
    expect(page.get_by_test_id("project-list")).to_contain_text("Liver lesions")
    expect(page.get_by_test_id("new-project")).to_have_count(0)  # no create link for her
    expect(page.get_by_test_id(f"settings-{project.pk}")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "project-list-doctor.png"))

    # The invitee opens the link, chooses a password and lands in the project list.
    page.get_by_role("button", name="Log out").click()
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a long new secret")
    page.get_by_label("New password again").fill("a long new secret")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your projects")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("project-list")).to_contain_text("Liver lesions")

    # The refused save's 400 is the only failed request the browser saw.
    unexpected = [e for e in browser.errors if "400 (Bad Request)" not in e]
    assert unexpected == []
