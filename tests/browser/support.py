"""Helpers for the browser tests: a chromium profile that records console errors, the login
form, waiting for the workspace, mouse drags in image coordinates, and real CT test objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pydicom
from playwright.sync_api import BrowserContext, ConsoleMessage, Page
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

# notes/viewer.md §3: headless Debian chromium, as root, no GPU, nothing phoned home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}  # the smallest screen the workspace must fit


@dataclass
class Browser:
    """One chromium profile; every page it opens records console errors and failed requests."""

    context: BrowserContext
    errors: list[str] = field(default_factory=list)

    def new_page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


PASSWORD = "pw"  # what tests/conftest.py's make_user sets


def sign_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    """The real login form, typed like a person would (keyboard only)."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Your projects").wait_for(timeout=20_000)


def wait_ready(page: Page, item_id: int | None = None, timeout: float = 20_000) -> dict[str, Any]:
    """Until the workspace shows an item (a different one than `item_id`, when given) drawn."""
    page.wait_for_function(
        """(previous) => {
            const s = window.__viewerTest && window.__viewerTest.status();
            return s && s.state === 'ready' && s.renderCount > 0 && s.itemId !== previous;
        }""",
        arg=item_id,
        timeout=timeout,
    )
    return page.evaluate("window.__viewerTest.status()")


def wait_saved(page: Page, timeout: float = 10_000) -> None:
    # A function, not an expression string: Playwright evals a bare expression inside the page,
    # which the Content-Security-Policy (no 'unsafe-eval') refuses.
    page.wait_for_function("() => window.__viewerTest.status().pending === 0", timeout=timeout)


def image_to_page(page: Page, x: float, y: float) -> tuple[float, float]:
    point = page.evaluate("([x, y]) => window.__viewerTest.imageToPage(x, y)", [x, y])
    return float(point[0]), float(point[1])


def drag(page: Page, points: list[tuple[float, float]], steps: int = 8) -> None:
    """Press at the first image point, move through the others, release at the last."""
    first = image_to_page(page, *points[0])
    page.mouse.move(*first)
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*image_to_page(page, *point), steps=steps)
    page.mouse.up()


# Data ------------------------------------------------------------------------------------------


def ct_slices(count: int, source: str = "CT_small.dcm") -> list[bytes]:
    """`count` distinct instances of one real CT series (new SOP UIDs, shifted pixel values)."""
    study, series = generate_uid(), generate_uid()
    out = []
    for index in range(count):
        ds = pydicom.dcmread(get_testdata_file(source))
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = index + 1
        pixels = ds.pixel_array
        ds.PixelData = (pixels + index * 7).astype(pixels.dtype).tobytes()
        buffer = BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        out.append(buffer.getvalue())
    return out
