"""The one way the web sends work to a worker: by task name, after the transaction commits.

Every task the web starts is named here. The web never imports the modules that define them
(ml_worker would pull in torch; docs/decisions/0900 and 0914); Celery routes the names to the
train / infer / default queues (CELERY_TASK_ROUTES, CELERY_TASK_DEFAULT_QUEUE). Sending after
commit means the worker can always read the row the task names, and a rolled-back request sends
nothing.

A broker that is down (Redis restarting) must not turn a request whose rows are already
committed into a 500: the send is logged and left to the recovery that already exists for lost
messages. A training run's row stays queued and is marked never dispatched, so the next
stale-run check (beat, a worker starting, the next request) sends it again at once; scoring
passes are recomputed by the next run or a rescore; a heat map request is re-sent once stale.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from kombu.exceptions import OperationalError

TRAIN = "ml_worker.tasks.train_model"
PRETRAIN = "ml_worker.tasks.train_pretrained_encoder"
SCORE = "ml_worker.tasks.score_pool"
COLD_START = "ml_worker.tasks.score_cold_start"
EXPLAIN = "ml_worker.explain_tasks.explain_item"
EXPORT = "annotations.exports.tasks.run_export"

logger = logging.getLogger(__name__)


def _send(name: str, args: list[int]) -> None:
    from config.celery import app

    try:
        app.send_task(name, args=args)
    except OperationalError:
        logger.warning("broker unreachable: %s%s not sent; recovery re-sends it", name, args)
        if name in (TRAIN, PRETRAIN):
            from learning.services.runs import mark_undispatched

            mark_undispatched(args[0])


def after_commit(name: str, *args: int) -> None:
    """Send task `name` with these ids once the surrounding transaction commits (at once when
    there is none)."""
    transaction.on_commit(partial(_send, name, list(args)))
