"""Browser end-to-end fixtures: Debian's chromium through Playwright against pytest-django's
live server, the built front end, and small real-DICOM projects for a doctor persona.

The front end must be built (frontend/dist/.vite/manifest.json); a missing build fails the test
rather than skipping it, because a workspace that was never built is a broken product.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from annotations.models import Item, LabelClass, Membership, Project
from studies.ingest import ingest_bytes
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


@pytest.fixture
def make_project(make_user) -> Callable[..., Project]:  # type: ignore[no-untyped-def]
    """A project with label classes, a doctor (annotator) and the given DICOM objects."""

    def make(
        objects: list[bytes],
        *,
        task_type: str = "classification",
        classes: tuple[str, ...] = ("normal", "pneumonia"),
        doctor: Any = None,
        **options: Any,
    ) -> Project:
        options.setdefault("name", f"{task_type} project")
        project = Project.objects.create(task_type=task_type, **options)
        colors = ("#3fb950", "#f85149", "#58a6ff", "#d29922")
        for index, name in enumerate(classes):
            LabelClass.objects.create(
                project=project, name=name, index=index, color=colors[index % len(colors)]
            )
        for index, data in enumerate(objects):
            outcome = ingest_bytes(data, source_name=f"object {index}", project=project)
            assert outcome.instance is not None, outcome.reason
        if doctor is not None:
            Membership.objects.create(project=project, user=doctor, role="annotator")
        assert Item.objects.filter(project=project).count() >= len(objects)
        return project

    return make


@pytest.fixture
def doctor(make_user):  # type: ignore[no-untyped-def]
    return make_user("doctor")
