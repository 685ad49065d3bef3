"""Store a scoring pass and switch the queue to it atomically.

The worker computes, for every unlabelled item, the model's probabilities and the strategy's
acquisition order; this module writes the Score rows and every Item.priority in ONE transaction,
so doctors asking for their next item see either the old order or the new one, never a mix.
Scores are keyed to the model version; a pass for a version that is no longer active (an admin
rolled back while it ran) is kept for the record but does not reorder the queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import transaction

from annotations.models import Item
from learning.models import ModelStatus, ModelVersion, Score


@dataclass(frozen=True)
class ItemScore:
    item_id: int
    value: float  # the strategy's acquisition score (higher = ask sooner)
    priority: float  # the queue position it maps to (higher = served first)
    probabilities: list[float]
    predicted_class: int | None
    suggestion: dict[str, Any] | None = None  # a segmentation model's masks (Score.suggestion)


@dataclass(frozen=True)
class ScoringOutcome:
    scored: int
    queue_updated: bool


def save_scoring_pass(
    project_id: int,
    model_version_id: int | None,
    strategy: str,
    scores: Iterable[ItemScore],
) -> ScoringOutcome:
    """Replace this version's scores and, if it is still current, the items' priorities.

    `scores` may be a generator: it is consumed LEARNING_SCORE_CHUNK rows at a time, each
    chunk's Score rows written (and its items' priorities updated) and dropped before the next
    is built, so a 100,000-item pass never holds 100,000 Score objects (decision 0188). All
    chunks are written in ONE transaction, as before.
    """
    size = max(1, settings.LEARNING_SCORE_CHUNK)
    rows = iter(scores)
    scored = 0
    with transaction.atomic():
        if model_version_id is not None:
            version = ModelVersion.objects.select_for_update().get(pk=model_version_id)
            reorder = version.status == ModelStatus.ACTIVE
        else:
            # Cold start: only while no model is active, or it would undo the model's order.
            reorder = not ModelVersion.objects.filter(
                project_id=project_id, status=ModelStatus.ACTIVE
            ).exists()
        while chunk := list(islice(rows, size)):
            scored += len(chunk)
            _save_chunk(model_version_id, strategy, chunk, reorder)
    return ScoringOutcome(scored=scored, queue_updated=reorder)


def _save_chunk(
    model_version_id: int | None, strategy: str, chunk: list[ItemScore], reorder: bool
) -> None:
    item_ids = [s.item_id for s in chunk]
    if model_version_id is not None:
        Score.objects.filter(model_version_id=model_version_id, item_id__in=item_ids).delete()
    else:
        Score.objects.filter(model_version__isnull=True, item_id__in=item_ids).delete()
    Score.objects.bulk_create(
        [
            Score(
                item_id=s.item_id,
                model_version_id=model_version_id,
                strategy=strategy,
                value=s.value,
                probabilities=s.probabilities,
                predicted_class=s.predicted_class,
                suggestion=s.suggestion,
            )
            for s in chunk
        ],
        batch_size=1000,
    )
    if reorder:
        items = [Item(pk=s.item_id, priority=s.priority) for s in chunk]
        Item.objects.bulk_update(items, ["priority"], batch_size=1000)


def record_scorer(model_version_id: int, worker: str) -> None:
    """Note which worker (Celery hostname) scored the pool with this version, and when."""
    from django.utils import timezone

    ModelVersion.objects.filter(pk=model_version_id).update(
        scored_by=worker[:200], scored_at=timezone.now()
    )


def pool_item_ids(project_id: int) -> list[int]:
    """The unlabelled pool: items not completed yet (partially read ones included)."""
    return list(
        Item.objects.filter(project_id=project_id, completed=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def latest_score(item_id: int) -> Score | None:
    """The active model's prediction for an item (what the workspace suggests), if any."""
    return (
        Score.objects.filter(item_id=item_id, model_version__status=ModelStatus.ACTIVE)
        .select_related("model_version")
        .first()
    )
