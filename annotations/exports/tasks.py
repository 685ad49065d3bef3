"""Celery tasks for exports (queue "default"; CPU only, no torch).

Thin: they take ids and call annotations.exports.jobs / services. `run_export` is safe to
deliver twice (the claim is a conditional UPDATE), so acks_late is on: a worker lost mid-export
hands the message back, and the stale-job sweep fails the half-done job it left.
"""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from annotations.exports import jobs, services


@shared_task(
    bind=True,
    name="annotations.exports.tasks.run_export",
    queue="default",
    acks_late=True,
    soft_time_limit=getattr(settings, "EXPORT_SOFT_TIME_LIMIT_S", 5 * 3600),
    time_limit=getattr(settings, "EXPORT_HARD_TIME_LIMIT_S", 5 * 3600 + 300),
)
def run_export(self: Task, job_id: int) -> None:
    jobs.execute(job_id, worker=self.request.hostname or "")


@shared_task(name="annotations.exports.tasks.delete_expired_exports", queue="default")
def delete_expired_exports() -> dict[str, int]:
    return services.delete_expired()
