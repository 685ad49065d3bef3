"""Send worker tasks by name, after the surrounding transaction commits.

The web process never imports ml_worker (it would pull in torch); Celery routes the names to the
train / infer / default queues (CELERY_TASK_ROUTES). Sending after commit means the worker can
always read the row the task names.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction

TRAIN = "ml_worker.tasks.train_model"
SCORE = "ml_worker.tasks.score_pool"
COLD_START = "ml_worker.tasks.score_cold_start"


def _send(name: str, args: list[int]) -> None:
    from config.celery import app

    app.send_task(name, args=args)


def after_commit(name: str, *args: int) -> None:
    transaction.on_commit(partial(_send, name, list(args)))
