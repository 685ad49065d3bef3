"""The one way the web sends work to a worker: by task name, after the transaction commits.

Every task the web starts is named here. The web never imports the modules that define them
(ml_worker would pull in torch; docs/decisions/0900 and 0914); Celery routes the names to the
train / infer / default queues (CELERY_TASK_ROUTES, CELERY_TASK_DEFAULT_QUEUE). Sending after
commit means the worker can always read the row the task names, and a rolled-back request sends
nothing.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction

TRAIN = "ml_worker.tasks.train_model"
SCORE = "ml_worker.tasks.score_pool"
COLD_START = "ml_worker.tasks.score_cold_start"
EXPLAIN = "ml_worker.explain_tasks.explain_item"
EXPORT = "annotations.exports.tasks.run_export"


def _send(name: str, args: list[int]) -> None:
    from config.celery import app

    app.send_task(name, args=args)


def after_commit(name: str, *args: int) -> None:
    """Send task `name` with these ids once the surrounding transaction commits (at once when
    there is none)."""
    transaction.on_commit(partial(_send, name, list(args)))
