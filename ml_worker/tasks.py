"""Celery task bodies: take ids, claim the row, call plain functions, record the outcome.

Reliability is declared per task (docs/learning.md, "Operations"):
- train_model and train_pretrained_encoder (ml_worker.jobs.pretrain): NOT acks_late. Redis would
  redeliver a dead worker's message only after the visibility timeout, hours later; the
  heartbeat-based detector queues the run again for another worker (or fails it) instead
  (decision 0190), and the claim (queued → running) makes a duplicate message a no-op anyway.
  Its short database
  writes wait out transient errors (ml_worker.jobs.db_retry); a claim that still failed is
  retried as a task. Soft limit → the
  run is recorded as failed; hard limit → the process is killed and the detector takes over.
- score_pool / score_cold_start: idempotent (scores keyed to the model version are replaced,
  priorities recomputed), so acks_late with a narrow retry on database disconnects.
- check_stale_runs: idempotent conditional updates; runs from beat every minute.
Web code sends these by name (core.dispatch) after commit and never imports this module.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError

from learning.services.runs import fail_stale_runs
from learning.services.scoring import record_scorer
from ml_worker.jobs.pretrain import run_pretraining
from ml_worker.jobs.score import score_cold_start as _score_cold_start
from ml_worker.jobs.score import score_with_version
from ml_worker.jobs.train import run_training

logger = logging.getLogger(__name__)
DB_HICCUPS = (OperationalError, InterfaceError)


@shared_task(
    bind=True,
    name="ml_worker.tasks.train_model",
    acks_late=False,
    ignore_result=True,
    # Only a claim or a finish that still failed after run_training's own retries gets here
    # (every other error ends the run as failed); the claim is conditional, so a retry whose
    # run was claimed meanwhile is a no-op ("not-claimed").
    autoretry_for=DB_HICCUPS,
    retry_backoff=5,
    max_retries=3,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT_S,
    time_limit=settings.TRAINING_HARD_TIME_LIMIT_S,
)
def train_model(self: Task, run_id: int) -> str:
    return run_training(run_id, worker=self.request.hostname or "")


@shared_task(
    bind=True,
    name="ml_worker.tasks.train_pretrained_encoder",
    # The life of a training run (see train_model): claimed, heartbeat, never redelivered.
    acks_late=False,
    ignore_result=True,
    autoretry_for=DB_HICCUPS,
    retry_backoff=5,
    max_retries=3,
    soft_time_limit=settings.TRAINING_SOFT_TIME_LIMIT_S,
    time_limit=settings.TRAINING_HARD_TIME_LIMIT_S,
)
def train_pretrained_encoder(self: Task, run_id: int) -> str:
    return run_pretraining(run_id, worker=self.request.hostname or "")


@shared_task(
    bind=True,
    name="ml_worker.tasks.score_pool",
    acks_late=True,
    ignore_result=True,
    autoretry_for=DB_HICCUPS,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=settings.SCORING_HARD_TIME_LIMIT_S - 60,
    time_limit=settings.SCORING_HARD_TIME_LIMIT_S,
)
def score_pool(self: Task, model_version_id: int) -> int | None:
    outcome = score_with_version(model_version_id)
    if outcome is None:
        return None
    record_scorer(model_version_id, self.request.hostname or "")
    return outcome.scored


@shared_task(
    name="ml_worker.tasks.score_cold_start",
    acks_late=True,
    ignore_result=True,
    autoretry_for=DB_HICCUPS,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=settings.SCORING_HARD_TIME_LIMIT_S - 60,
    time_limit=settings.SCORING_HARD_TIME_LIMIT_S,
)
def score_cold_start(project_id: int) -> int | None:
    outcome = _score_cold_start(project_id)
    return None if outcome is None else outcome.scored


@shared_task(
    name="ml_worker.tasks.check_stale_runs",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def check_stale_runs() -> dict[str, list[int]]:
    outcome = fail_stale_runs()
    return {
        "failed": outcome.failed,
        "redispatched": outcome.redispatched,
        "requeued": outcome.requeued,
    }


@worker_ready.connect
def _fail_runs_of_dead_workers(**_: Any) -> None:
    """A restarted worker is the usual sign its predecessor died: check right away."""
    try:
        outcome = fail_stale_runs()
    except DB_HICCUPS:
        logger.warning("stale-run check at worker start skipped: database unavailable")
        return
    if outcome.failed or outcome.requeued:
        logger.warning(
            "stale training runs: failed %s, queued again %s", outcome.failed, outcome.requeued
        )
