"""Export jobs: a real Celery worker runs them, progress is visible, the archive downloads;
cancelled jobs stop and leave nothing; archives expire; stalled jobs are failed."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from annotations.exports import jobs, services
from annotations.exports.models import ExportJob
from annotations.exports.snapshots import freeze_snapshot
from tests.cast import make_project
from tests.exports import factories as f


def wait_for(job_id: int, statuses: set[str], seconds: float = 90) -> ExportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = ExportJob.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"export {job_id} still {job.status} after {seconds} s")


@pytest.mark.celery
def test_a_worker_runs_the_export_and_the_archive_downloads(cast, celery_worker, tmp_path) -> None:
    client = cast.client("erin")
    created = client.post(
        f"/api/v1/projects/{cast.project.pk}/exports/",
        {"formats": ["csv", "imagefolder", "monai"]},
        format="json",
    )
    assert created.status_code == 202
    assert created.json()["status"] == "queued"
    job = wait_for(created.json()["id"], {"succeeded", "failed"})
    assert job.status == "succeeded", job.error
    detail = client.get(f"/api/v1/exports/{job.pk}/").json()
    assert detail["progress"] == {"done": 12, "total": 12}
    assert detail["download_url"] == f"/api/v1/exports/{job.pk}/download"
    download = client.get(detail["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    body = b"".join(download.streaming_content)
    assert hashlib.sha256(body).hexdigest() == job.sha256 == detail["sha256"]
    # The command line writes the very same bytes for the same snapshot.
    out = tmp_path / "cli.zip"
    call_command(
        "export_dataset",
        "--project",
        str(cast.project.pk),
        "--formats",
        "csv,imagefolder,monai",
        "--out",
        str(out),
        "--snapshot",
        str(job.snapshot_id),
        "--no-progress",
    )
    assert out.read_bytes() == body


def test_a_cancelled_queued_job_never_runs(cast) -> None:
    job = ExportJob.objects.create(
        project=cast.project, snapshot=freeze_snapshot(cast.project), formats=["csv"]
    )
    response = cast.client("alice").post(f"/api/v1/exports/{job.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    jobs.execute(job.pk)  # the task arrives anyway: the claim fails, nothing is written
    job.refresh_from_db()
    assert job.status == "cancelled" and job.file_path == ""
    assert not list(services.storage_dir().glob(f"project-{cast.project.pk}/*"))
    assert cast.client("alice").post(f"/api/v1/exports/{job.pk}/cancel").status_code == 409


def big_project(n: int):  # type: ignore[no-untyped-def]
    project = make_project(name="Many films", task_type="classification", classes=["a", "b"])
    rng = np.random.default_rng(3)
    for index in range(n):
        data = f.secondary_capture(rng.integers(0, 255, (64, 64), dtype=np.uint8), f"P{index}")
        f.ingest_bytes(data, project=project)
    for index, item in enumerate(f.items_of(project)):
        f.imported(item, "class", {"labels": ["a" if index % 2 else "b"]})
    return project


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_export_stops_it_and_removes_the_partial_file(monkeypatch) -> None:
    project = big_project(150)
    job = ExportJob.objects.create(
        project=project, snapshot=freeze_snapshot(project), formats=["imagefolder", "nifti", "coco"]
    )
    monkeypatch.setattr(jobs, "POLL_INTERVAL_S", 0.0)
    worker = threading.Thread(target=jobs.execute, args=(job.pk,))
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == "running" and job.progress.get("done", 0) > 0:
            break
        time.sleep(0.01)
    services.do_cancel(job)
    worker.join(timeout=60)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert 0 < job.progress["done"] < job.progress["total"]
    assert job.file_path == ""
    assert not list(Path(services.storage_dir()).glob(f"project-{project.pk}/*"))


def test_expired_archives_are_deleted_and_stop_downloading(cast) -> None:
    job = ExportJob.objects.create(
        project=cast.project, snapshot=freeze_snapshot(cast.project), formats=["csv"]
    )
    jobs.execute(job.pk)
    job.refresh_from_db()
    path = services.storage_dir() / job.file_path
    assert job.status == "succeeded" and path.is_file()
    assert job.expires_at > timezone.now() + timedelta(days=6)
    client = cast.client("alice")
    assert client.get(f"/api/v1/exports/{job.pk}/download").status_code == 200
    outcome = services.delete_expired(now=job.expires_at + timedelta(seconds=1))
    assert outcome["deleted"] == 1 and not path.exists()
    assert client.get(f"/api/v1/exports/{job.pk}/download").status_code == 410


def test_a_job_whose_worker_went_silent_is_failed_by_the_sweep(classification_project) -> None:
    job = ExportJob.objects.create(
        project=classification_project,
        snapshot=freeze_snapshot(classification_project),
        formats=["csv"],
        status="running",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    partial = services.storage_dir() / (services.relative_archive_name(job) + ".partial")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_bytes(b"half an archive")
    call_command("cleanup_exports")
    job.refresh_from_db()
    assert job.status == "failed" and "stopped" in job.error
    assert not partial.exists()


def test_an_item_that_cannot_be_read_fails_the_job_with_its_name_and_leaves_no_file(
    classification_project,
) -> None:
    from studies.storage import get_store

    job = ExportJob.objects.create(
        project=classification_project,
        snapshot=freeze_snapshot(classification_project),
        formats=["imagefolder"],
    )
    broken = f.items_of(classification_project)[5]
    get_store().delete(broken.instance.storage_key)  # the stored object vanished
    jobs.execute(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert f"item {broken.pk} (imagefolder)" in job.error
    assert not list(services.storage_dir().glob(f"project-{classification_project.pk}/*"))
