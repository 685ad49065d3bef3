"""Workspace benchmark: how long a doctor waits for the next image, in real headless Chromium.

1. Creates a throw-away SQLite database and storage under bench/out/workspace/, migrates it and
   ingests the shared CT head phantom series (28 slices, 512x512) into a classification project
   with one annotator.
2. Serves the real application with gunicorn on 127.0.0.1 (the built front end included).
3. Drives Debian's chromium (Playwright, flags of notes/viewer.md §3) at 1366x768:
   - cold: opens the project page in a fresh tab --cold times; time from navigation start to the
     first image drawn (the viewer's IMAGE_RENDERED);
   - prefetched: labels --images images with "1", --think seconds of looking, then Enter (next
     item leased two at a time and its frame preloaded while the doctor works); time from the
     Enter keydown to the next image drawn, and whether the next image was prefetched by then;
   - without prefetch (?prefetch=0): the same loop, one lease at a time, nothing preloaded.
   The times are taken in the page (performance.now()) by the workspace itself, so they include
   the submit, the lease request (without prefetch), metadata, frame download, decode and draw.
4. With --train (the default), a real Celery worker (`make run`'s command line, on the same SQLite
   database) trains another project back to back the whole time, as `make run`'s embedded
   default does while doctors label (issue 14).

Prints the figures beside the issue's targets (< 150 ms prefetched, < 1 s cold, >= 95% of the
next images prefetched), then:
    next_image_p50_ms=X next_image_p95_ms=Y cold_first_image_ms=Z prefetched=P/N runs=R
(X, Y: with prefetch; Z: median of the cold opens; P of N Enters found the next image ready;
R: training runs that finished meanwhile, none failed or the bench says so).

Usage: python bench/workspace.py [--images 12] [--cold 5] [--think 1.5] [--no-train] [--cpu]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

# bench/ holds queue.py, which would shadow the standard library's `queue` module (imported by
# asgiref, Django, Playwright) while this file's folder is sys.path[0]. Drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "workspace"
SHARED_DATA = Path(os.environ.get("RADLOOP_SHARED_DATA", REPO.parent / "shared" / "data"))
SERIES = SHARED_DATA / "dicom" / "ct_head_phantom_philips_ingenuity"
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
PASSWORD = "bench-doctor-pw"  # noqa: S105
BENCH_SECRET = "bench-only-secret-key-not-for-production-0123456789"  # noqa: S105


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{OUT / 'db.sqlite3'}",
        RADLOOP_DATA_DIR=str(OUT / "data"),
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECRET_KEY=BENCH_SECRET,
        PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]),
    )
    return env


def seed(images: int) -> int:
    """Fresh database with the CT series in a project; returns the project id."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from annotations.models import LabelClass, Membership, Project
    from studies.ingest import ingest_bytes

    call_command("migrate", interactive=False, verbosity=0)
    doctor = User.objects.create_user("doctor", password=PASSWORD)
    project = Project.objects.create(name="Head CT triage", task_type="classification")
    for index, name in enumerate(("normal", "abnormal")):
        LabelClass.objects.create(project=project, name=name, index=index)
    Membership.objects.create(project=project, user=doctor, role="annotator")
    files = sorted(SERIES.glob("*.dcm"))
    if len(files) < images:
        sys.exit(f"need {images} images, {SERIES} has {len(files)}")
    for path in files:
        outcome = ingest_bytes(path.read_bytes(), source_name=path.name, project=project)
        if outcome.instance is None:
            sys.exit(f"{path.name}: {outcome.status} {outcome.reason}")
    return int(project.pk)


def seed_training_load(owner) -> int:  # type: ignore[no-untyped-def]
    """A second project with 200 labelled 28x28 images (a bright square left or right) for the
    worker to train on while the doctor labels the CT project; returns its id."""
    import numpy as np

    from annotations.datasets import import_labelled_arrays
    from annotations.models import Membership, Project

    project = Project.objects.create(
        name="Training load", task_type="classification", input_size=28, retrain_every=0
    )
    Membership.objects.create(project=project, user=owner, role="admin")
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    images = rng.integers(0, 60, size=(200, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        left = 2 if label == 0 else 16
        images[i, 10:20, left : left + 10] = 220
    import_labelled_arrays(project, images, labels, ["left", "right"], source="bench-load")
    return int(project.pk)


class TrainingLoad:
    """Keeps a training run queued or running for the project until stopped (bounded)."""

    CONFIG = {"max_epochs": 20, "min_samples_per_epoch": 512, "batch_size": 32, "patience": 100}

    def __init__(self, project_id: int) -> None:
        import threading

        self.project_id = project_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        from django.db import connection

        from annotations.models import Project
        from learning.models import RunStatus, TrainingRun
        from learning.services.runs import do_request_run

        project = Project.objects.get(pk=self.project_id)
        try:
            for _ in range(1000):  # bounded: one check a second
                if self.stop.wait(1.0):
                    return
                busy = TrainingRun.objects.filter(
                    project=project, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)
                ).exists()
                if not busy:
                    do_request_run(project, trigger="manual", config=self.CONFIG)
        finally:
            connection.close()

    def outcome(self) -> dict[str, int]:
        from learning.models import TrainingRun

        runs = TrainingRun.objects.filter(project_id=self.project_id)
        return {status: runs.filter(status=status).count() for status in ("succeeded", "failed")}


def wait_http(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"server did not answer at {url}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def ready(page, previous=None) -> dict:  # type: ignore[no-untyped-def]
    try:
        wait_for_item(page, previous)
    except Exception:
        sys.exit(f"no next image: {page.evaluate('window.__viewerTest.status()')}")
    return page.evaluate("window.__viewerTest.status()")


def wait_for_item(page, previous) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        """(prev) => {
            const s = window.__viewerTest && window.__viewerTest.status();
            return s && s.state === 'ready' && s.renderCount > 0 && s.itemId !== prev;
        }""",
        arg=previous,
        timeout=30_000,
    )


def label_loop(page, url: str, images: int, think_s: float) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    """Label `images` images as a doctor would: "1", `think_s` seconds of looking, Enter (no
    waiting for the prefetch). Returns the Enter→drawn times the workspace recorded and how many
    Enters found the next image prefetched."""
    page.goto(url)
    status = ready(page)
    page.wait_for_timeout(think_s * 1000)  # the first image is looked at too
    for _ in range(images):
        page.keyboard.press("1")
        page.wait_for_timeout(think_s * 1000)
        page.keyboard.press("Enter")
        status = ready(page, status["itemId"])
    timings = page.evaluate("window.__viewerTest.timings()")
    prefetched = sum(1 for t in timings if t["prefetched"])
    return [t["drawnAt"] - t["enterAt"] for t in timings], prefetched


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=12, help="images labelled per mode")
    parser.add_argument("--cold", type=int, default=5, help="cold opens of the project")
    parser.add_argument("--cpu", action="store_true", help="force CPU rendering in the viewer")
    parser.add_argument("--think", type=float, default=1.5, help="seconds on each image")
    parser.add_argument(
        "--no-train", action="store_true", help="no worker training meanwhile (idle baseline)"
    )
    args = parser.parse_args()
    if not (REPO / "frontend" / "dist" / ".vite" / "manifest.json").exists():
        sys.exit("front end not built: run `make frontend` first")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    env = environment()
    os.environ.update(env)
    sys.path[:0] = [str(REPO / "platform"), str(REPO)]
    project_id = seed(args.images * 2 + 2)
    from django.contrib.auth.models import User

    load_project = seed_training_load(User.objects.get(username="doctor"))

    from playwright.sync_api import sync_playwright

    from core.local.commands import child_env, web_command, worker_command

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(web_command(port, workers=1, threads=4), cwd=REPO, env=env)
    worker = None
    load = TrainingLoad(load_project)
    if not args.no_train:
        worker_env = {**child_env(), **env}
        log = (OUT / "worker.log").open("wb")
        worker = subprocess.Popen(
            worker_command(OUT / "data", hostname="bench@%h"),
            cwd=REPO,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        load.thread.start()
    try:
        wait_http(f"{base}/accounts/login/")
        flag = "&cpu=1" if args.cpu else ""
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=shutil.which("chromium") or "chromium",
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1366, "height": 768},
            )
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.get_by_label("Username").fill("doctor")
            page.get_by_label("Password").fill(PASSWORD)
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="Your projects").wait_for(timeout=30_000)

            cold = []
            for _ in range(args.cold):
                tab = context.new_page()
                tab.goto(f"{base}/app/projects/{project_id}?x=1{flag}")
                ready(tab)
                cold.append(float(tab.evaluate("window.__viewerTest.firstImageAt()")))
                tab.close()
            url = f"{base}/app/projects/{project_id}"
            prefetched, ready_count = label_loop(
                page, f"{url}?prefetch=1{flag}", args.images, args.think
            )
            plain, _ = label_loop(page, f"{url}?prefetch=0{flag}", args.images, args.think)
            context.close()
    finally:
        load.stop.set()
        if load.thread.is_alive():
            load.thread.join(timeout=10)
        web.terminate()
        web.wait(timeout=20)
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    runs = load.outcome()

    backend = "CPU" if args.cpu else "GPU (SwiftShader WebGL)"
    training = "no training" if args.no_train else "worker training another project throughout"
    print(f"Workspace, CT 512x512 explicit VR LE, headless Debian chromium, {backend}, 1366x768")
    print(f"SQLite (make run's embedded default), {training}, think time {args.think} s")
    print(f"{'measure':<40}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'target':>12}")
    rows = [
        ("Enter -> next image, prefetched", prefetched, "< 150 ms"),
        ("Enter -> next image, no prefetch", plain, "-"),
        ("open project -> first image (cold)", cold, "< 1000 ms"),
    ]
    for name, values, target in rows:
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"{name:<40}{len(values):>4}{p50:>10.0f}{p95:>10.0f}{target:>12}")
    share = ready_count / max(1, len(prefetched))
    print(f"{'next image prefetched at Enter':<40}{len(prefetched):>4}{share:>20.0%}{'>= 95%':>12}")
    print(f"training runs meanwhile: {runs['succeeded']} succeeded, {runs['failed']} failed")
    print(
        f"next_image_p50_ms={statistics.median(prefetched):.0f} "
        f"next_image_p95_ms={percentile(prefetched, 0.95):.0f} "
        f"cold_first_image_ms={statistics.median(cold):.0f} "
        f"prefetched={ready_count}/{len(prefetched)} runs={runs['succeeded'] + runs['failed']}"
    )


if __name__ == "__main__":
    main()
