"""Review: reviewers adjudicate items whose readers disagree (or a sample, or all when the
project requires review); the adjudicated answer becomes the item's ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet

from annotations.models import Annotation, AnnotationSource, Item, Project, Review, ReviewState
from annotations.services.errors import Invalid
from annotations.services.schema import checked_shape, label_schema

MAX_REVIEW_NOTE = 5000  # characters


@dataclass
class ReviewRequest:
    item: Item
    shapes: list[tuple[str, int, dict[str, Any]]]  # (kind, frame, payload)
    note: str
    raw: dict[str, Any]


def review_queue(project: Project) -> QuerySet[Item]:
    return Item.objects.filter(project=project, review_state=ReviewState.PENDING).order_by("pk")


def check_review(item: Item, body: Any) -> ReviewRequest:
    """Body: {"payload": {"labels": [...]} | {"annotations": [{kind, frame, payload}...]},
    "note": ""}. A classification answer may be given as labels alone."""
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        raise Invalid({"payload": ["an object: {labels: [...]} or {annotations: [...]}"]})
    payload, note = body["payload"], body.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_REVIEW_NOTE or "\x00" in note:
        raise Invalid({"note": [f"text up to {MAX_REVIEW_NOTE} characters, without NUL"]})
    unknown = sorted(set(payload) - {"labels", "annotations"})
    if unknown or not ({"labels", "annotations"} & set(payload)):
        raise Invalid({"payload": ["give labels and/or annotations, nothing else"]})
    schema = label_schema(item.project)
    shapes = []
    if "labels" in payload:
        shapes.append(
            checked_shape(item, schema, "class", item.frame, {"labels": payload["labels"]})
        )
    entries = payload.get("annotations", [])
    limit = settings.ANNOTATION_MAX_SHAPES_PER_ITEM
    if not isinstance(entries, list) or len(entries) > limit:
        raise Invalid(
            {"payload.annotations": [f"a list of at most {limit} {{kind, frame, payload}}"]}
        )
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise Invalid({f"payload.annotations[{i}]": ["an object {kind, frame, payload}"]})
        try:
            shapes.append(
                checked_shape(
                    item,
                    schema,
                    entry.get("kind"),
                    entry.get("frame", item.frame),
                    entry.get("payload"),
                )
            )
        except Invalid as exc:
            raise Invalid({f"payload.annotations[{i}]": exc.detail}) from exc
    if not shapes:
        raise Invalid({"payload": ["the adjudicated answer is empty; send labels: [] for none"]})
    return ReviewRequest(item=item, shapes=shapes, note=note, raw=payload)


def do_review(user: AbstractBaseUser, request: ReviewRequest) -> Review:
    item = request.item
    with transaction.atomic():
        Item.objects.select_for_update().filter(pk=item.pk).first()
        # The earlier adjudication stays in history (its Review row and annotation versions)
        # but is no longer current.
        Annotation.objects.filter(
            item=item, source=AnnotationSource.REVIEW, is_current=True
        ).update(is_current=False)
        review = Review.objects.create(
            item=item, reviewer_id=user.pk, payload=request.raw, note=request.note
        )
        Annotation.objects.bulk_create(
            Annotation(
                item=item,
                author_id=user.pk,
                source=AnnotationSource.REVIEW,
                kind=kind,
                frame=frame,
                payload=payload,
            )
            for kind, frame, payload in request.shapes
        )
        Item.objects.filter(pk=item.pk).update(review_state=ReviewState.REVIEWED, completed=True)
    return review
