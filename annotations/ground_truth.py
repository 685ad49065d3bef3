"""The agreed answer for each item: what training, evaluation and exports treat as truth.

Precedence, per item (docs/workflow.md, "Ground truth"):
1. "review": a reviewer adjudicated the item (current annotations with source "review").
2. "imported": labels that came with the data (annotations.datasets imports).
3. Readers, once the item has all its reads (and its review, when the project requires one):
   - "single": one reader per item, that reader's answer;
   - "consensus": several readers; classification takes the labels more than half of them chose
     (a single-label item without a strict majority has no truth until reviewed); shape tasks
     take the answer of the reader closest to the others (mean Dice) when it agrees with them
     well enough (agreement.SHAPE_AGREEMENT_THRESHOLD), else the item waits for review.
Items with none of these are absent from the result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db.models import QuerySet

from annotations.agreement import Answer, majority_labels, medoid_answer
from annotations.models import (
    Annotation,
    AnnotationSource,
    Item,
    Project,
    ReviewState,
    Submission,
    TaskType,
)
from annotations.payloads import labels_of

Source = Literal["review", "consensus", "single", "imported"]


@dataclass
class GroundTruth:
    item_id: int
    labels: list[str]
    shapes: list[dict[str, Any]] = field(default_factory=list)  # payload + "kind" + "frame"
    source: Source = "single"
    readers: int = 0
    annotation_ids: list[int] = field(default_factory=list)


@dataclass
class ItemAnswers:
    """Everything ground truth and agreement need to know about one item."""

    item: Item
    review: Answer | None = None
    imported: Answer | None = None
    readers: list[Answer] = field(default_factory=list)  # one per submitted reader


def ground_truth_for(
    project: Project, item_ids: Iterable[int] | None = None
) -> dict[int, GroundTruth]:
    """item id → GroundTruth for the items of `project` that have one (see module docstring)."""
    result: dict[int, GroundTruth] = {}
    for item_id, answers in collect_answers(project, item_ids).items():
        truth = truth_from_answers(project, answers)
        if truth is not None:
            result[item_id] = truth
    return result


def truth_from_answers(project: Project, answers: ItemAnswers) -> GroundTruth | None:
    item = answers.item
    readers = len(answers.readers)
    if answers.review is not None:
        return _truth(item.pk, answers.review, "review", readers)
    if answers.imported is not None:
        return _truth(item.pk, answers.imported, "imported", readers)
    if readers == 0 or readers < project.readers_per_item:
        return None
    if project.require_review and item.review_state != ReviewState.REVIEWED:
        return None
    if readers == 1:
        return _truth(item.pk, answers.readers[0], "single", readers)
    if project.task_type == TaskType.CLASSIFICATION:
        labels = majority_labels(answers.readers, multi_label=project.multi_label)
        if labels is None:
            return None
        agreeing = [a for a in answers.readers if a.labels == frozenset(labels)]
        return GroundTruth(
            item_id=item.pk,
            labels=sorted(labels),
            shapes=[s for a in agreeing[:1] for s in a.shapes],
            source="consensus",
            readers=readers,
            annotation_ids=sorted(i for a in agreeing for i in a.annotation_ids),
        )
    rows, cols = _dimensions(item)
    medoid = medoid_answer(answers.readers, rows, cols)
    if medoid is None:
        return None
    return _truth(item.pk, medoid, "consensus", readers)


def _truth(item_id: int, answer: Answer, source: Source, readers: int) -> GroundTruth:
    return GroundTruth(
        item_id=item_id,
        labels=sorted(answer.labels),
        shapes=list(answer.shapes),
        source=source,
        readers=readers,
        annotation_ids=sorted(answer.annotation_ids),
    )


def _dimensions(item: Item) -> tuple[int | None, int | None]:
    instance = item.instance
    if instance is None:
        return None, None
    return instance.rows, instance.columns


def collect_answers(
    project: Project, item_ids: Iterable[int] | QuerySet[Any] | None = None
) -> dict[int, ItemAnswers]:
    """Load items, their submitted readers and current annotations in three queries.

    `item_ids` may be a queryset of item pks: it stays a subquery, as do the items in the
    queries of readers and annotations, so no statement carries one parameter per item (a
    project of a million items has more than PostgreSQL's 65,535 parameters allow)."""
    items_qs = Item.objects.filter(project=project).select_related("instance")
    # Only the instance's size is read here (_dimensions): not its frame offsets and geometry.
    items_qs = items_qs.defer(
        "instance__frame_offsets", "instance__pixel_spacing", "instance__image_position",
        "instance__image_orientation",
    )  # fmt: skip
    if isinstance(item_ids, QuerySet):
        items_qs = items_qs.filter(pk__in=item_ids)
    elif item_ids is not None:
        items_qs = items_qs.filter(pk__in=list(item_ids))
    items = {item.pk: ItemAnswers(item=item) for item in items_qs.order_by("pk")}
    if not items:
        return {}
    chosen = items_qs.order_by().values("pk")
    readers: dict[int, list[int]] = defaultdict(list)
    for item_id, user_id in (
        Submission.objects.filter(item_id__in=chosen)
        .order_by("created_at", "pk")
        .values_list("item_id", "user_id")
    ):
        readers[item_id].append(user_id)
    rows = (
        Annotation.objects.filter(item_id__in=chosen, is_current=True, deleted=False)
        .order_by("pk")
        .values_list("pk", "item_id", "author_id", "source", "kind", "frame", "payload")
    )
    per_item: dict[int, dict[tuple[str, int | None], Answer]] = defaultdict(dict)
    for pk, item_id, author_id, source, kind, frame, payload in rows:
        key = (source, author_id if source == AnnotationSource.HUMAN else None)
        answer = per_item[item_id].setdefault(key, Answer(author_id=key[1], labels=frozenset()))
        answer.labels = answer.labels | frozenset(labels_of(kind, payload))
        if kind != "class":
            answer.shapes.append({**payload, "kind": kind, "frame": frame})
        answer.annotation_ids.append(pk)
    for item_id, entry in items.items():
        by_source = per_item.get(item_id, {})
        entry.review = by_source.get((AnnotationSource.REVIEW, None))
        entry.imported = by_source.get((AnnotationSource.IMPORTED, None))
        # A reader's answer counts once they submitted; one who submitted "nothing to mark"
        # (possible only by deleting after submitting) is an empty answer.
        entry.readers = [
            by_source.get((AnnotationSource.HUMAN, user_id))
            or Answer(author_id=user_id, labels=frozenset())
            for user_id in readers.get(item_id, [])
        ]
    return items
