"""Browser end-to-end fixtures: Debian's chromium through Playwright against pytest-django's
live server and the built front end. Projects and people come from tests/cast.py (anna is the
doctor).

The front end must be built (frontend/dist/.vite/manifest.json); a missing build fails the test
rather than skipping it, because a workspace that was never built is a broken product.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from tests.browser.support import CHROMIUM_ARGS, VIEWPORT, Browser


@pytest.fixture(autouse=True)
def _built_frontend() -> None:
    manifest = Path(settings.FRONTEND_DIST) / ".vite" / "manifest.json"
    if not manifest.exists():
        pytest.fail(f"the front end is not built ({manifest} missing): run `make frontend`")


@pytest.fixture(autouse=True)
def _async_unsafe_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test and
    # pytest-django make would otherwise be refused as "async unsafe".
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser(chromium_path: str) -> Iterator[Browser]:
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        # Anything leaving the loopback would be a hidden download: refuse it.
        local = ("http://localhost", "http://127.0.0.1", "data:", "blob:")
        context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(local) else route.abort()
            ),
        )
        try:
            yield Browser(context)
        finally:
            context.close()
