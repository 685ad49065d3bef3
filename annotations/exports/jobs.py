"""Run one claimed ExportJob: write its archive, report progress, honour cancellation."""

from __future__ import annotations

import logging
import time

from django.utils import timezone

from annotations.exports.models import ExportJob, ExportStatus
from annotations.exports.runner import ExportCancelled, ExportOptions, write_archive
from annotations.exports.services import relative_archive_name, retention, storage_dir

logger = logging.getLogger(__name__)
# Progress and the cancellation flag are written/read at most this often (seconds).
POLL_INTERVAL_S = 1.0


class _JobMonitor:
    """Throttled progress writes and cancellation checks against the job row."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._last = 0.0
        self._cancelled = False

    def progress(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < POLL_INTERVAL_S:
            return
        self._last = now
        updated = ExportJob.objects.filter(pk=self.job_id, status=ExportStatus.RUNNING).update(
            progress={"done": done, "total": total}, heartbeat_at=timezone.now()
        )
        self._cancelled = updated == 0

    def should_stop(self) -> bool:
        return self._cancelled


def execute(job_id: int, worker: str = "") -> None:
    """Claim the job (queued → running) and run it; a second delivery of the task is a no-op.
    `worker` is the Celery hostname, recorded on the job."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        worker=worker[:200],
    )
    if not claimed:
        logger.info("export %s is not queued any more; nothing to do", job_id)
        return
    job = ExportJob.objects.select_related("snapshot").get(pk=job_id)
    relative = relative_archive_name(job)
    destination = storage_dir() / relative
    monitor = _JobMonitor(job_id)
    try:
        result = write_archive(
            job.snapshot,
            list(job.formats),
            destination,
            options=ExportOptions.from_dict(job.options),
            progress=monitor.progress,
            should_stop=monitor.should_stop,
        )
    except ExportCancelled:
        logger.info("export %s cancelled", job_id)
        return
    except Exception as exc:
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
            status=ExportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return
    finished = timezone.now()
    done = ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.SUCCEEDED,
        file_path=relative,
        size_bytes=result.size_bytes,
        sha256=result.sha256,
        report=result.report,
        progress={"done": len(job.snapshot.entries), "total": len(job.snapshot.entries)},
        finished_at=finished,
        expires_at=finished + retention(),
    )
    if not done:  # cancelled between the last item and now: the archive must not stay behind
        destination.unlink(missing_ok=True)
