"""An admin gets studies into a project from the browser (Debian's chromium, the built front end):
uploads a folder of real CT files and a zip holding one cut file (listed with its reason, nothing
of it stored), downloads the results as CSV, survives a connection dropped after the server
stored a file (the retry replays "stored", the file is stored once), and finds an existing MR
study by patient and attaches it."""

from __future__ import annotations

import base64
import csv
import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
from playwright.sync_api import Page, Route, expect

from annotations.models import Item
from studies.models import Instance
from tests.browser.support import Browser, sign_in
from tests.cast import make_project

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CT = "ct_head_phantom_philips_ingenuity"
MR = "mr_brain_t1_mprage_philips_ingenia"


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> Path:
    settings.DICOM_STORAGE_DIR = tmp_path / "store"
    settings.DICOM_STORAGE_BACKEND = "filesystem"
    return tmp_path / "store"


def _sop(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _wait_finished(page: Page, files: int) -> None:
    summary = page.get_by_test_id("upload-summary")
    expect(summary).to_have_attribute("data-running", "false", timeout=60_000)
    expect(page.get_by_role("status").filter(has_text="sent")).to_contain_text(
        f"{files} of {files} file"
    )


def test_an_admin_uploads_a_folder_and_a_zip_downloads_the_csv_and_attaches_a_study(
    browser: Browser,
    live_server: Any,
    cast: Any,
    shared_data: Path,
    store: Path,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    ct_files = sorted((shared_data / "dicom" / CT).glob("*.dcm"))
    mr_files = sorted((shared_data / "dicom" / MR).glob("*.dcm"))[:4]
    target = make_project(name="Head CT", admin=cast.alice, classes=("lesion",), deidentify=False)
    # An existing study alice can see: the MR of another project of hers.
    make_project(
        name="Archive",
        admin=cast.alice,
        classes=(),
        deidentify=False,
        dicom=[p.read_bytes() for p in mr_files],
    )
    folder = tmp_path / "head-ct"
    folder.mkdir()
    for path in ct_files[:8]:
        shutil.copy(path, folder / path.name)
    archive = tmp_path / "more.zip"
    cut = ct_files[10]
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(ct_files[8], "more/a.dcm")
        zf.write(ct_files[9], "more/b.dcm")
        zf.writestr("more/cut.dcm", cut.read_bytes()[:20_000])  # header only: pixels cut off

    page = browser.new_page()
    sign_in(page, live_server.url, "alice")
    page.get_by_test_id(f"add-studies-{target.pk}").click()
    expect(page.get_by_role("heading", name="Add studies · Head CT")).to_be_visible()

    # A folder of real CT files, through the folder picker (webkitdirectory).
    page.get_by_test_id("pick-folder").set_input_files(folder)
    _wait_finished(page, 8)
    rows = page.get_by_test_id("upload-row")
    expect(rows).to_have_count(8)
    expect(page.locator('[data-testid="outcome"][data-status="stored"]')).to_have_count(8)

    # A zip with one cut file: listed with its reason, nothing of it kept.
    page.get_by_test_id("pick-files").set_input_files(archive)
    _wait_finished(page, 9)
    bad = page.locator('[data-testid="outcome"][data-status="rejected"]')
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("cut.dcm")
    expect(bad).to_contain_text("truncated")
    assert not Instance.objects.filter(sop_instance_uid=_sop(cut)).exists()
    assert Instance.objects.filter(items__project=target).count() == 10
    assert len([p for p in store.rglob("*") if p.is_file()]) == 10 + len(mr_files)
    page.screenshot(path=str(artifacts_dir / "add-studies-upload.png"), full_page=True)

    # The results as CSV: one row per outcome, the bad one with its reason.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download results (CSV)").click()
    text = Path(download.value.path()).read_text()
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 11
    (rejected,) = [r for r in table if r["status"] == "rejected"]
    assert rejected["file"] == "more.zip" and rejected["entry"] == "more/cut.dcm"
    assert rejected["code"] == "truncated" and rejected["reason"]
    assert sum(r["status"] == "stored" for r in table) == 10

    # Two dropped connections: the first before the server got the file, the second after it
    # stored it (the answer never arrives). The page retries with the same key each time; the
    # last attempt is answered "stored" again from the receipt, and the file is stored once.
    retried = ct_files[11]
    attempts: list[str] = []

    def drop_twice(route: Route) -> None:
        attempts.append(route.request.headers.get("idempotency-key", ""))
        if len(attempts) == 1:
            route.abort("connectionreset")
        elif len(attempts) == 2:
            # What the server receives on this attempt; Playwright's route.fetch() cannot
            # forward a file body, so the same request is sent from the page's own context.
            headers = route.request.headers
            page.request.post(
                route.request.url,
                headers={k: headers[k] for k in ("idempotency-key", "x-csrftoken")},
                multipart={
                    "project": str(target.pk),
                    "files": {
                        "name": retried.name,
                        "mimeType": "application/octet-stream",
                        "buffer": retried.read_bytes(),
                    },
                },
            )
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/uploads/", drop_twice)
    page.get_by_test_id("pick-files").set_input_files(retried)
    _wait_finished(page, 10)
    last = rows.last
    expect(last).to_have_attribute("data-state", "done")
    expect(last).to_contain_text("attempt 3")
    expect(last.get_by_test_id("outcome")).to_have_attribute("data-status", "stored")
    assert len(attempts) == 3 and len(set(attempts)) == 1 and attempts[0]
    assert Instance.objects.filter(sop_instance_uid=_sop(retried)).count() == 1
    page.unroute("**/api/v1/uploads/")

    # A file dropped on the drop zone (a synthetic drop: Playwright cannot drag from the OS):
    # already stored, so listed as a duplicate and stored once.
    dropped = ct_files[0]
    transfer = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], name, { type: "application/dicom" }));
            return data;
        }""",
        [dropped.name, base64.b64encode(dropped.read_bytes()).decode()],
    )
    page.get_by_test_id("dropzone").dispatch_event("drop", {"dataTransfer": transfer})
    _wait_finished(page, 11)
    expect(rows.last.get_by_test_id("outcome")).to_have_attribute("data-status", "duplicate")
    assert Instance.objects.filter(sop_instance_uid=_sop(dropped)).count() == 1

    # An existing study, found by patient, attached to the project.
    search = page.get_by_role("search", name="Search the archive")
    search.get_by_label("Patient name or ID").fill("d2n_philips")
    search.get_by_label("Modality").fill("MR")
    search.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("archive-results")
    expect(results.locator("tbody tr")).to_have_count(1)
    # One instance first (the series' instances listed through QIDO-RS), then the whole study.
    results.get_by_role("button", name="instances").click()
    picks = results.locator(".instance-picks input[type=checkbox]")
    expect(picks).to_have_count(len(mr_files))
    picks.first.check()
    page.get_by_role("button", name="Attach (1 chosen) to the project").click()
    expect(page.get_by_test_id("attach-result")).to_contain_text(
        "Attached 1 study, 1 series, 1 instance: 1 new item"
    )
    results.get_by_role("checkbox", name="Add study").check()
    page.get_by_role("button", name="Attach (1 chosen) to the project").click()
    expect(page.get_by_test_id("attach-result")).to_contain_text(
        f"Attached 1 study, 1 series, {len(mr_files)} instances: {len(mr_files) - 1} new items"
        " (the rest were in the project already)"
    )
    mr_sops = {_sop(p) for p in mr_files}
    attached = set(
        Item.objects.filter(project=target).values_list("instance__sop_instance_uid", flat=True)
    )
    assert mr_sops <= attached
    page.screenshot(path=str(artifacts_dir / "add-studies-attach.png"), full_page=True)
    # The only console errors are the two connections the test cut.
    resets = [e for e in browser.errors if "ERR_CONNECTION_RESET" in e]
    assert len(resets) == 2
    assert [e for e in browser.errors if e not in resets] == [], browser.errors
