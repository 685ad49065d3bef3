"""Under the Content-Security-Policy every page sends (docs/decisions/0160), Debian's chromium
with no network beyond the loopback shows the workspace (JPEG 2000 decoded by the viewer's
WebAssembly codec in its web worker), the dashboard and the API docs (Swagger UI from our own
static files) with no CSP violation and no console error."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from playwright.sync_api import Page
from pydicom.uid import generate_uid

from annotations.models import Membership
from tests.browser.support import Browser, ct_slices, sign_in, wait_ready
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def csp_page(browser: Browser) -> Page:
    page = browser.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__csp"))


def j2k_copy(shared_data: Path) -> bytes:
    ds = pydicom.dcmread(shared_data / "dicom" / "single_files" / "ts_mr_siemens_j2k_lossless.dcm")
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_workspace_and_dashboard_load_under_the_csp(
    browser: Browser, live_server, anna, shared_data: Path
) -> None:
    project = make_project(dicom=[j2k_copy(shared_data), *ct_slices(2)], name="CSP", annotator=anna)
    Membership.objects.filter(project=project, user=anna).update(role="admin")
    page = csp_page(browser)
    sign_in(page, live_server.url, "anna")

    page.get_by_test_id(f"project-{project.pk}").click()
    status = wait_ready(page, timeout=30_000)
    for _ in range(2):  # every item, the JPEG 2000 one included, decodes and draws
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        status = wait_ready(page, status["itemId"], timeout=30_000)
    page.goto(f"{live_server.url}/app/projects/{project.pk}/dashboard")
    page.locator('[data-testid="dashboard"][data-loaded="true"]').wait_for(timeout=20_000)

    assert violations(page) == []
    assert browser.errors == []
    policy = page.request.get(f"{live_server.url}/").headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in policy


def test_the_api_docs_render_their_operations_offline_under_the_csp(
    browser: Browser, live_server, anna
) -> None:
    page = csp_page(browser)
    sign_in(page, live_server.url, "anna")

    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock").first.wait_for(timeout=30_000)

    assert page.locator(".opblock").count() > 20
    assert page.get_by_text("Radloop API").first.is_visible()
    assert violations(page) == []
    assert browser.errors == []
