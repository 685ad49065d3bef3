"""A doctor signs in through the real login page in Debian's chromium and lands on the project
list the front end renders at "/". Fails if the front end is not built."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core.demo.seed import GENERATED_PROJECT, seed_demo
from tests.browser.support import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls pytest-django makes
    # at teardown would otherwise be refused as "async unsafe".
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
        )
        yield context.pages[0] if context.pages else context.new_page()
        context.close()


@pytest.fixture
def doctor(make_user):  # type: ignore[no-untyped-def]
    admin, doctor = make_user("admin", superuser=True), make_user("doctor")
    seed_demo(admin, doctor, say=lambda line: None, generated_count=12)
    return doctor


def sign_in(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", name="Radloop")).to_be_visible()
    page.get_by_label("Username").fill("doctor")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_doctor_signs_in_and_lands_on_the_project_list(
    page: Page, live_server, doctor, artifacts_dir: Path
) -> None:
    sign_in(page, live_server.url, "pw")

    expect(page.get_by_role("heading", name="Your projects")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("project-list")).to_contain_text(GENERATED_PROJECT)
    expect(page.get_by_test_id("username")).to_have_text("doctor")
    assert page.url.rstrip("/") == live_server.url
    page.screenshot(path=str(artifacts_dir / "login-project-list.png"), full_page=True)


def test_a_wrong_password_keeps_the_doctor_on_the_login_page(
    page: Page, live_server, doctor
) -> None:
    sign_in(page, live_server.url, "not the password")

    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    assert "/accounts/login/" in page.url
