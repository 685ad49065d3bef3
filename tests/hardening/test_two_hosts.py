"""Two Celery workers set up as two hosts in all but name: each has its own working directory,
host name, data folder and temporary folder; they share only PostgreSQL, Redis and the storage
folders a deployment mounts on every host (images, model checkpoints, export archives).

Training runs, scoring passes and exports spread across both; SIGKILL of one host's whole worker
mid-run loses nothing: the stale-run check (sent as beat sends it, run by the survivor) queues the
run again, the survivor trains it to success, and the previous model stays active meanwhile
(decision 0190)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction

from annotations.exports.models import ExportJob
from annotations.exports.services import check_export_request, do_create_export
from annotations.models import Annotation
from core import dispatch
from learning.models import ModelStatus, ModelVersion, RunStatus, TrainingRun
from tests.cast import make_project
from tests.conftest import _worker_env
from tests.learning.test_worker_lifecycle import QUICK, retrain, status_of

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Long enough to be caught after its first epoch, short enough to be trained again in a minute.
MEDIUM = {"max_epochs": 30, "min_samples_per_epoch": 512, "batch_size": 32, "patience": 100}
QUEUES = ("default", "train", "infer")


@dataclass
class Host:
    name: str  # the Celery host name (what TrainingRun.worker records)
    process: subprocess.Popen[bytes]


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_host(label: str, scratch: Path) -> Host:
    """A worker as a separate host would run it: private cwd, data and temp folders, one torch
    thread, heartbeats every second (the survivor's stale-run check gives up after 10 s)."""
    home, tmp = scratch / "cwd", scratch / "tmp"
    home.mkdir(parents=True)
    tmp.mkdir()
    name = f"{label}-{os.getpid()}@test"
    env = _worker_env() | {
        # config.settings.test derives the data folder from RADLOOP_TEST_ROOT: a private one.
        "RADLOOP_TEST_ROOT": str(scratch / "data"),
        "RADLOOP_DATA_DIR": str(scratch / "data"),
        "TMPDIR": str(tmp),
        "DICOM_STORAGE_DIR": str(settings.DICOM_STORAGE_DIR),
        "MODEL_STORAGE_DIR": str(settings.MODEL_STORAGE_DIR),
        "EXPORT_STORAGE_DIR": str(settings.EXPORT_STORAGE_DIR),
        "OMP_NUM_THREADS": "1",
        "TRAINING_CPU_THREADS": "1",
        "TRAINING_HEARTBEAT_INTERVAL_S": "1",
        "TRAINING_HEARTBEAT_TIMEOUT_S": "10",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", ",".join(QUEUES),
        "--pool=prefork", "--concurrency=1", "--loglevel=WARNING", "--without-gossip",
        "--without-mingle", "--hostname", name,
    ]  # fmt: skip
    # Its own session: SIGKILL to the group takes the pool child too, as a host's death would.
    process = subprocess.Popen(command, cwd=home, env=env, start_new_session=True)
    return Host(name, process)


def stop_host(host: Host) -> None:
    if host.process.poll() is None:
        os.killpg(host.process.pid, signal.SIGTERM)
        try:
            host.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(host.process.pid, signal.SIGKILL)
            host.process.wait(timeout=30)


@pytest.fixture
def hosts(transactional_db: None, tmp_path: Path) -> Iterator[tuple[Host, Host]]:
    from config.celery import app

    app.control.purge()
    pair = (start_host("host-a", tmp_path / "a"), start_host("host-b", tmp_path / "b"))
    try:

        def both_answer() -> bool:
            for host in pair:
                if host.process.poll() is not None:
                    raise RuntimeError(f"{host.name} exited with {host.process.returncode}")
            answered = {name for reply in app.control.ping(timeout=1) for name in reply}
            return {h.name for h in pair} <= answered

        # Each imports torch; on a loaded 2-core machine that alone can take a minute.
        wait_for(both_answer, timeout=240, what="both workers to answer a ping")
        yield pair
    finally:
        for host in pair:
            stop_host(host)


def succeeded(run_id: int) -> Callable[[], bool]:
    return lambda: status_of(run_id) == RunStatus.SUCCEEDED


def scored_since(version_id: int, before: datetime | None) -> Callable[[], bool]:
    """A scoring pass with this version was recorded after `before` (any, if None)."""

    def check() -> bool:
        scored_at = ModelVersion.objects.get(pk=version_id).scored_at
        return scored_at is not None and (before is None or scored_at > before)

    return check


def exported(job_id: int) -> Callable[[], bool]:
    return lambda: ExportJob.objects.get(pk=job_id).status == "succeeded"


def wait_idle(names: set[str]) -> None:
    """No message waiting and no task running on these workers."""
    from config.celery import app

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)

    def idle() -> bool:
        if any(broker.llen(queue) for queue in QUEUES):
            return False
        active = app.control.inspect(destination=sorted(names), timeout=1).active() or {}
        return set(active) == names and not any(active.values())

    wait_for(idle, timeout=180, what="the workers to be idle")


def test_work_spreads_over_two_hosts_and_a_killed_host_loses_nothing(make_user, hosts) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    from config.celery import app

    a, b = hosts
    names = {a.name, b.name}
    admin = make_user("admin")
    client = APIClient()
    client.force_authenticate(admin)
    p = make_project(admin=admin, images=40, labelled=24, seed=1)
    q = make_project(admin=admin, images=40, labelled=24, seed=2)
    labels = Annotation.objects.filter(is_current=True).count()
    wait_idle(names)

    # Training: the first run keeps its worker busy, so the second goes to the other one (a
    # worker fetches only when its pool is free: CELERY_WORKER_DISABLE_PREFETCH).
    runs = [retrain(client, p, QUICK), retrain(client, q, QUICK)]
    for run_id in runs:
        wait_for(succeeded(run_id), 300, f"run {run_id}")
    assert {TrainingRun.objects.get(pk=r).worker for r in runs} == names

    # Scoring: both pools rescored at once, one pass per worker.
    versions = [ModelVersion.objects.get(project=x, status=ModelStatus.ACTIVE) for x in (p, q)]
    for version in versions:
        wait_for(scored_since(version.pk, None), 120, "the first scoring")
    wait_idle(names)
    versions = [ModelVersion.objects.get(pk=v.pk) for v in versions]
    for version in versions:
        app.send_task(dispatch.SCORE, args=[version.pk])
    for version in versions:
        wait_for(scored_since(version.pk, version.scored_at), 120, f"the rescoring with {version}")
    assert {ModelVersion.objects.get(pk=v.pk).scored_by for v in versions} == names

    # Exports: two jobs queued by one commit, one per worker; both archives in the shared folder.
    wait_idle(names)
    with transaction.atomic():
        jobs = [
            do_create_export(admin, x, check_export_request(admin, x, {"formats": ["csv"]}))
            for x in (p, q)
        ]
    for job in jobs:
        wait_for(exported(job.pk), 120, f"export {job.pk}")
    done = [ExportJob.objects.get(pk=job.pk) for job in jobs]
    assert {job.worker for job in done} == names
    assert all((Path(settings.EXPORT_STORAGE_DIR) / job.file_path).is_file() for job in done)

    # A host dies mid-run: its run is queued again and the other host trains it.
    wait_idle(names)
    previous = ModelVersion.objects.get(project=p, status=ModelStatus.ACTIVE)
    run_id = retrain(client, p, MEDIUM)
    wait_for(lambda: TrainingRun.objects.get(pk=run_id).progress.get("history"), 300, "epoch 1")
    first = TrainingRun.objects.get(pk=run_id)
    doomed = a if first.worker == a.name else b
    survivor = b if doomed is a else a
    os.killpg(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait(timeout=30)
    killed = TrainingRun.objects.get(pk=run_id)
    assert (killed.status, killed.attempts) == (RunStatus.RUNNING, 1), (
        "the run ended before the kill"
    )

    def taken_over() -> bool:
        # What beat does every minute; only the survivor is left to run it.
        app.send_task("ml_worker.tasks.check_stale_runs")
        run = TrainingRun.objects.get(pk=run_id)
        if run.status != RunStatus.SUCCEEDED:
            assert ModelVersion.objects.get(project=p, status=ModelStatus.ACTIVE) == previous
        return run.attempts == 2 and run.worker == survivor.name

    wait_for(taken_over, 120, "the survivor to claim the run again")
    wait_for(lambda: status_of(run_id) == RunStatus.SUCCEEDED, 300, "the second attempt")

    run = TrainingRun.objects.get(pk=run_id)
    assert (run.worker, run.attempts) == (survivor.name, 2)
    assert f"attempt 1 lost with worker {doomed.name}" in run.log
    assert run.model_version is not None and run.model_version.runs.count() == 1
    assert ModelVersion.objects.filter(project=p).count() == 2  # no version of the dead attempt
    active = ModelVersion.objects.get(project=p, status=ModelStatus.ACTIVE)
    assert active in (previous, run.model_version)
    assert Annotation.objects.filter(is_current=True).count() == labels
