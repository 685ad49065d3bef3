"""Hooks other apps call when something happens that may need a new model.

`on_labels_submitted` is called by the workflow after each submit commits, so it sits on the
doctors' hot path: it asks one query whether a run is due and only then goes through
`maybe_request_auto_run` (which re-checks under its own rules and queues the run). It never
raises into the caller: a failure to schedule training must not lose a label.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from annotations.models import Annotation, Item, Project
from learning.models import ModelKind, ModelVersion, RunKind, RunStatus, TrainingRun

logger = logging.getLogger(__name__)


def on_labels_submitted(project_id: int) -> None:
    """Request an automatic training run once `Project.retrain_every` new labels have arrived."""
    from learning.services.runs import maybe_request_auto_run

    try:
        if auto_run_due(project_id):
            maybe_request_auto_run(project_id)
    except Exception:  # the doctor's submit already committed: log and move on
        logger.exception("could not schedule automatic training for project %s", project_id)


def auto_run_due(project_id: int) -> bool:
    """One query for the rule of maybe_request_auto_run: automatic training is on, no run is
    queued, and labelled items exceed the last run's count by at least `retrain_every`."""
    runs = TrainingRun.objects.filter(project=OuterRef("pk"), kind=RunKind.SUPERVISED)
    current = Annotation.objects.filter(item=OuterRef("pk"), is_current=True, deleted=False)
    labelled = (
        Item.objects.filter(project=OuterRef("pk"))
        .filter(Exists(current))
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    row = (
        Project.objects.filter(pk=project_id, retrain_every__gt=0)
        .annotate(
            queued=Exists(runs.filter(status=RunStatus.QUEUED)),
            baseline=Coalesce(
                Subquery(runs.order_by("-created_at", "-pk").values("label_count")[:1]), Value(0)
            ),
            labelled=Coalesce(Subquery(labelled, output_field=IntegerField()), Value(0)),
        )
        .values("retrain_every", "queued", "baseline", "labelled")
        .first()
    )
    if row is None or row["queued"]:
        return False
    return bool(row["labelled"] - row["baseline"] >= row["retrain_every"])


def on_pool_grown(project_id: int) -> None:
    """Called after new items are committed to a project (annotations.items.create_items):
    queue a self-supervised pretraining of the encoder when `pretrain_due`. Never raises: an
    import must not fail because a background job could not be queued."""
    from learning.services.runs import do_request_pretrain

    try:
        if pretrain_due(project_id):
            project = Project.objects.get(pk=project_id)
            do_request_pretrain(project)
    except Exception:
        logger.exception("could not schedule pretraining for project %s", project_id)


def pretrain_due(project_id: int) -> bool:
    """A classification project whose pool holds at least LEARNING_PRETRAIN_MIN_POOL items and
    has grown by LEARNING_PRETRAIN_GROWTH (a fraction; 0 = off) since the last pretrained
    encoder, or has none yet; and no pretraining is queued or running."""
    growth = float(settings.LEARNING_PRETRAIN_GROWTH)
    project = Project.objects.filter(pk=project_id, task_type="classification").first()
    if growth <= 0 or project is None:
        return False
    pool = Item.objects.filter(project=project).count()
    if pool < settings.LEARNING_PRETRAIN_MIN_POOL:
        return False
    busy = TrainingRun.objects.filter(
        project=project,
        kind=RunKind.PRETRAIN,
        status__in=(RunStatus.QUEUED, RunStatus.RUNNING),
    )
    if busy.exists():
        return False
    last = (
        ModelVersion.objects.filter(project=project, kind=ModelKind.PRETRAINED)
        .order_by("-number")
        .values_list("config", flat=True)
        .first()
    )
    if last is None:
        return True
    return pool >= int(last.get("pool_size", 0)) * (1.0 + growth)
