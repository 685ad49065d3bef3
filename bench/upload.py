"""Upload benchmark: 500 real instances into a project three ways, instances/s and server RSS.

1. Writes three sets of --instances real DICOM files under bench/out/upload/: the shared CT head
   phantom and MR brain series, repeated with new Study/Series/SOP Instance UIDs (pydicom), so
   every set stores new instances (each repeat is a new study). The sets hold the same bytes
   apart from the UIDs.
2. Creates a throw-away SQLite database (`make run`'s configuration), an admin with a token and
   three projects, and serves the application with gunicorn on 127.0.0.1 (`make run`'s command:
   one worker, four threads; the built front end included).
3. Measures, one after the other:
   - upload: Debian's chromium (Playwright, 1366x768) signs in, opens the project's "Add studies"
     page and picks the folder of set 1; from picking to the page's "finished" (the page sends
     up to 10 files / 8 MiB per request, three requests at a time, each under its own
     Idempotency-Key);
   - the two above alternate in --blocks blocks (100 instances each by default), so both see
     the same drift of a shared machine's load; their times are the sums over the blocks;
   - STOW-RS: set 2 POSTed to /dicomweb/projects/<id>/studies as multipart/related, --stow-batch
     instances per request, --stow-clients requests at a time (token auth);
   - import_dicom: `manage.py import_dicom <set 3> --project <id>` as a subprocess (no server).
   Every method must store every instance: the bench checks the counts and fails otherwise.
4. Samples the resident memory of the server (gunicorn's master and worker, summed) every 50 ms
   while the upload and STOW run.

Last line: upload_per_s=X stow_per_s=Y import_per_s=Z peak_rss_mb=M
(target: upload_per_s >= 0.8 * stow_per_s)

Usage: python bench/upload.py [--instances 500] [--stow-batch 25] [--stow-clients 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

# bench/ holds queue.py, which would shadow the standard library's `queue` module (imported by
# requests, Django, Playwright) while this file's folder is sys.path[0]. Drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "upload"
SHARED_DATA = Path(os.environ.get("RADLOOP_SHARED_DATA", REPO.parent / "shared" / "data"))
SERIES = [
    SHARED_DATA / "dicom" / "ct_head_phantom_philips_ingenuity",
    SHARED_DATA / "dicom" / "mr_brain_t1_mprage_philips_ingenia",
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A throw-away account and key in a throw-away database, never a deployment.
PASSWORD = "bench-admin-pw"  # noqa: S105
BENCH_SECRET = "bench-only-secret-key-not-for-production-0123456789"  # noqa: S105


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{OUT / 'db.sqlite3'}",
        RADLOOP_DATA_DIR=str(OUT / "data"),
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECRET_KEY=BENCH_SECRET,
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    )
    return env


def write_sets(count: int, sets: int, blocks: int) -> list[Path]:
    """`sets` folders of `count` files each (in `blocks` sub-folders, for the interleaved
    measurement): the shared series cycled, new UIDs per repeat."""
    import pydicom
    from pydicom.uid import generate_uid

    sources = [p for folder in SERIES for p in sorted(folder.glob("*.dcm"))]
    if not sources:
        sys.exit(f"no DICOM files under {SERIES[0].parent}")
    folders = []
    for index in range(sets):
        folder = OUT / f"set{index + 1}"
        for block in range(blocks):
            (folder / f"block{block + 1}").mkdir(parents=True)
        study_uids: dict[tuple[int, str], str] = {}
        series_uids: dict[tuple[int, str], str] = {}
        for n in range(count):
            repeat, source = divmod(n, len(sources))
            ds = pydicom.dcmread(sources[source])
            # One new study per (repeat, original study), one new series per original series.
            study_uids.setdefault((repeat, ds.StudyInstanceUID), generate_uid())
            series_uids.setdefault((repeat, ds.SeriesInstanceUID), generate_uid())
            ds.StudyInstanceUID = study_uids[(repeat, ds.StudyInstanceUID)]
            ds.SeriesInstanceUID = series_uids[(repeat, ds.SeriesInstanceUID)]
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            block = n * blocks // count + 1
            ds.save_as(folder / f"block{block}" / f"{n:04d}.dcm", enforce_file_format=True)
        folders.append(folder)
    return folders


def seed() -> tuple[str, list[int]]:
    """Fresh database: an admin (signs in to the page) with a token, three projects."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from annotations.models import LabelClass, Membership, Project

    call_command("migrate", interactive=False, verbosity=0)
    admin = User.objects.create_user("uploader", password=PASSWORD)
    projects = []
    for name in ("upload", "stow", "import"):
        project = Project.objects.create(
            name=f"Bench {name}", task_type="classification", deidentify=False
        )
        LabelClass.objects.create(project=project, name="finding", index=0)
        Membership.objects.create(project=project, user=admin, role="admin")
        projects.append(int(project.pk))
    return Token.objects.create(user=admin).key, projects


def stored_in(project_id: int) -> int:
    from studies.models import Instance

    return Instance.objects.filter(items__project_id=project_id).distinct().count()


class RssSampler:
    """Resident memory of a process and its children (from /proc), peak over the run."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _tree(self) -> list[int]:
        pids, frontier = [self.pid], [self.pid]
        while frontier:
            parent = frontier.pop()
            try:
                children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            except OSError:
                continue
            pids += [int(c) for c in children]
            frontier += [int(c) for c in children]
        return pids

    def _rss_kb(self, pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _loop(self) -> None:
        while not self.stop.wait(0.05):
            self.peak_kb = max(self.peak_kb, sum(self._rss_kb(p) for p in self._tree()))

    def peak_mb(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.peak_kb / 1024


def wait_http(url: str, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"server did not answer at {url}")


class BrowserUpload:
    """Chromium on the project's "Add studies" page, signed in; `block()` picks one folder and
    waits until the page has finished it."""

    def __init__(self, base: str, project_id: int) -> None:
        from playwright.sync_api import sync_playwright

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            sys.exit("Debian's chromium is not installed")
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        page = self.browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("Username").fill("uploader")
        page.get_by_label("Password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Your projects").wait_for(timeout=30_000)
        page.goto(f"{base}/app/projects/{project_id}/studies")
        page.get_by_test_id("pick-folder").wait_for(timeout=30_000)
        self.page = page
        self.files = 0

    def block(self, folder: Path) -> float:
        self.files += len(list(folder.glob("*.dcm")))
        start = time.perf_counter()
        self.page.get_by_test_id("pick-folder").set_input_files(folder)
        self.page.wait_for_function(
            """(n) => {
                const s = document.querySelector('[data-testid=upload-summary]');
                return s && s.dataset.running === 'false'
                    && document.querySelectorAll('[data-testid=upload-row]').length === n;
            }""",
            arg=self.files,
            timeout=1_800_000,
            polling=100,
        )
        return time.perf_counter() - start

    def close(self) -> None:
        failed = self.page.locator('[data-testid=upload-row][data-state="failed"]').count()
        self.browser.close()
        self.playwright.stop()
        if failed:
            sys.exit(f"upload: {failed} file(s) failed")


def _stow_body(paths: list[Path], boundary: str) -> bytes:
    parts = []
    for path in paths:
        parts.append(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        parts.append(path.read_bytes())
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts)


def stow(base: str, token: str, project_id: int, folder: Path, batch: int, clients: int) -> float:
    """Seconds to STOW the folder's files, `batch` per request, `clients` requests at a time."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    paths = sorted(folder.glob("*.dcm"))
    batches = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    url = f"{base}/dicomweb/projects/{project_id}/studies"
    local = threading.local()

    def send(chunk: list[Path]) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        boundary = uuid.uuid4().hex
        response = session.post(
            url,
            data=_stow_body(chunk, boundary),
            headers={
                "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
                "Accept": "application/dicom+json",
                "Authorization": f"Token {token}",
            },
            timeout=600,
        )
        if response.status_code != 200:
            sys.exit(f"STOW answered {response.status_code}: {response.text[:300]}")

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, batches))
    return time.perf_counter() - start


def import_command(env: dict[str, str], project_id: int, folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "import_dicom",
            str(folder),
            "--project",
            str(project_id),
            "--quiet-progress",
        ],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--stow-batch", type=int, default=25, help="instances per STOW request")
    parser.add_argument("--stow-clients", type=int, default=3, help="STOW requests at a time")
    parser.add_argument("--blocks", type=int, default=5, help="alternating upload/STOW blocks")
    args = parser.parse_args()
    if not (REPO / "frontend" / "dist" / ".vite" / "manifest.json").exists():
        sys.exit("front end not built: run `make frontend` first")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    env = environment()
    os.environ.update(env)
    sys.path[:0] = [str(REPO / "platform"), str(REPO)]
    upload_set, stow_set, import_set = write_sets(args.instances, 3, args.blocks)
    token, (upload_project, stow_project, import_project) = seed()

    from core.local.commands import web_command

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (OUT / "gunicorn.log").open("w")
    web = subprocess.Popen(
        web_command(port, workers=1, threads=4), cwd=REPO, env=env, stdout=log, stderr=log
    )
    try:
        wait_http(f"{base}/accounts/login/")
        sampler = RssSampler(web.pid)
        page = BrowserUpload(base, upload_project)
        upload_s = stow_s = 0.0
        # Alternating blocks: on a shared machine the load drifts over minutes, and each method
        # then sees the same drift.
        for block in range(1, args.blocks + 1):
            upload_s += page.block(upload_set / f"block{block}")
            stow_s += stow(
                base,
                token,
                stow_project,
                stow_set / f"block{block}",
                args.stow_batch,
                args.stow_clients,
            )
        page.close()
        peak_mb = sampler.peak_mb()
    finally:
        web.terminate()
        try:
            web.wait(timeout=30)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()
        log.close()
    import_s = import_command(env, import_project, import_set)
    for name, project in (
        ("upload", upload_project),
        ("stow", stow_project),
        ("import_dicom", import_project),
    ):
        if stored_in(project) != args.instances:
            sys.exit(f"{name}: {stored_in(project)} of {args.instances} instances stored")
    upload_rate, stow_rate = args.instances / upload_s, args.instances / stow_s
    import_rate = args.instances / import_s
    load = os.getloadavg()
    print(f"upload (chromium, up to 10 files per request, 3 at a time): {upload_s:.1f} s")
    print(f"STOW-RS ({args.stow_batch} per request, {args.stow_clients} at a time): {stow_s:.1f} s")
    print(f"import_dicom: {import_s:.1f} s")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    verdict = "met" if upload_rate >= 0.8 * stow_rate else "NOT met"
    print(f"target upload >= 0.8 x STOW: {verdict} ({upload_rate / stow_rate:.2f} x)")
    print(
        f"upload_per_s={upload_rate:.1f} stow_per_s={stow_rate:.1f} "
        f"import_per_s={import_rate:.1f} peak_rss_mb={peak_mb:.0f}"
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
