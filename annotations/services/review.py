"""Review: reviewers adjudicate items whose readers disagree (or a sample, or all when the
project requires review); the adjudicated answer becomes the item's ground truth.

An adjudication is versioned per item: the reviewer names the version they saw (If-Match, as
annotations do), so a stale one is refused with 412 instead of replacing a newer one. It is
either the reviewer's own answer (`payload`) or one reader's current answer taken as it stands
(`accept`: the reader's user id); both are validated like any annotation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet

from annotations.models import (
    Annotation,
    AnnotationSource,
    Comment,
    Item,
    Project,
    Review,
    ReviewState,
    Submission,
)
from annotations.services.errors import Invalid, PreconditionFailed
from annotations.services.schema import checked_shape, label_schema

MAX_REVIEW_NOTE = 5000  # characters
MAX_FLAG_NOTE = 2000  # characters
# The review reason of an item a member flagged; it survives the item's last read (submit).
FLAGGED = "flagged"


@dataclass
class ReviewRequest:
    item: Item
    shapes: list[tuple[str, int, dict[str, Any]]]  # (kind, frame, payload)
    note: str
    raw: dict[str, Any]
    # The adjudication version the reviewer saw (If-Match); None: they saw none.
    base_version: int | None = None
    accepted_reader: int | None = None


# Which items the review queue lists: ?state= of GET /projects/{id}/review/.
QUEUE_STATES = {
    "pending": (ReviewState.PENDING,),
    "reviewed": (ReviewState.REVIEWED,),
    "all": (ReviewState.PENDING, ReviewState.REVIEWED),
}


def review_queue(project: Project, state: str = "pending") -> QuerySet[Item]:
    if state not in QUEUE_STATES:
        raise Invalid({"state": [f"one of {', '.join(QUEUE_STATES)}"]})
    return Item.objects.filter(project=project, review_state__in=QUEUE_STATES[state]).order_by("pk")


def check_review(item: Item, body: Any, base_version: int | None = None) -> ReviewRequest:
    """Body: {"payload": {"labels": [...]} | {"annotations": [{kind, frame, payload}...]},
    "note": ""} or {"accept": <reader's user id>, "note": ""}. A classification answer may be
    given as labels alone. `base_version`: the If-Match header (annotate.parse_if_match)."""
    if not isinstance(body, dict):
        raise Invalid({"payload": ["an object: {labels: [...]} or {annotations: [...]}"]})
    note = body.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_REVIEW_NOTE or "\x00" in note:
        raise Invalid({"note": [f"text up to {MAX_REVIEW_NOTE} characters, without NUL"]})
    accepted = None
    if "accept" in body:
        if "payload" in body:
            raise Invalid({"accept": ["send either accept or payload, not both"]})
        accepted = _reader_of(item, body["accept"])
        body = {"payload": reader_answer(item, accepted)}
    if not isinstance(body.get("payload"), dict):
        raise Invalid({"payload": ["an object: {labels: [...]} or {annotations: [...]}"]})
    payload = body["payload"]
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
    return ReviewRequest(
        item=item,
        shapes=shapes,
        note=note,
        raw=payload,
        base_version=base_version,
        accepted_reader=accepted,
    )


def _reader_of(item: Item, raw: Any) -> int:
    # Bounded like a database id, so a huge number is a 400 rather than an overflow.
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
        raise Invalid({"accept": ["the user id of one of the item's readers"]})
    if not Submission.objects.filter(item=item, user_id=raw).exists():
        raise Invalid({"accept": [f"user {raw} did not read this item"]})
    return raw


def reader_answer(item: Item, reader_id: int) -> dict[str, Any]:
    """One reader's current answer on the item, in the shape of a review payload."""
    labels: list[str] = []
    shapes = []
    has_class = False
    for kind, frame, payload in (
        Annotation.objects.filter(
            item=item,
            author_id=reader_id,
            source=AnnotationSource.HUMAN,
            is_current=True,
            deleted=False,
        )
        .order_by("pk")
        .values_list("kind", "frame", "payload")
    ):
        if kind == "class":
            has_class = True
            labels += [name for name in payload.get("labels", []) if name not in labels]
        else:
            shapes.append({"kind": kind, "frame": frame, "payload": payload})
    if not has_class and not shapes:
        raise Invalid({"accept": [f"user {reader_id} has no current answer on this item"]})
    answer: dict[str, Any] = {"annotations": shapes} if shapes else {}
    if has_class:
        answer["labels"] = labels
    return answer


def current_version(item: Item) -> int:
    """The item's newest adjudication version; 0 when it has none."""
    return int(Review.objects.filter(item=item).aggregate(v=Max("version"))["v"] or 0)


def do_review(user: AbstractBaseUser, request: ReviewRequest) -> Review:
    item = request.item
    try:
        with transaction.atomic():
            return _adjudicate(user, request, item)
    except IntegrityError as exc:  # a concurrent reviewer took the same version number
        raise PreconditionFailed(
            "another reviewer adjudicated this item meanwhile; reload it",
            current_version=current_version(item),
        ) from exc


def _adjudicate(user: AbstractBaseUser, request: ReviewRequest, item: Item) -> Review:
    # The item row lock orders reviewers of one item; the unique (item, version) backs it.
    Item.objects.select_for_update().filter(pk=item.pk).first()
    latest = current_version(item)
    if request.base_version is None and latest:
        raise PreconditionFailed(
            "the item has an adjudication; send If-Match with its version", current_version=latest
        )
    if request.base_version is not None and request.base_version != latest:
        raise PreconditionFailed(
            "the adjudication changed meanwhile; reload it", current_version=latest
        )
    # The earlier adjudication stays in history (its Review row and annotation versions)
    # but is no longer current.
    Annotation.objects.filter(item=item, source=AnnotationSource.REVIEW, is_current=True).update(
        is_current=False
    )
    review = Review.objects.create(
        item=item,
        reviewer_id=user.pk,
        payload=request.raw,
        note=request.note,
        version=latest + 1,
        accepted_reader_id=request.accepted_reader,
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


def check_flag(body: Any) -> str:
    """Body: {"note": "why"} (optional); the note becomes a comment on the item."""
    note = body.get("note", "") if isinstance(body, dict) else None
    if not isinstance(note, str) or len(note) > MAX_FLAG_NOTE or "\x00" in note:
        raise Invalid({"note": [f"text up to {MAX_FLAG_NOTE} characters, without NUL"]})
    return note.strip()


def do_flag(user: AbstractBaseUser, item: Item, note: str) -> Item:
    """Any member asks for a review of the item: it joins the review queue (an item already
    pending keeps its reason), an adjudicated one is reviewed again, and the note is a comment."""
    with transaction.atomic():
        locked = Item.objects.select_for_update().get(pk=item.pk)
        if locked.review_state != ReviewState.PENDING:
            locked.review_state, locked.review_reason = ReviewState.PENDING, FLAGGED
            Item.objects.filter(pk=item.pk).update(
                review_state=locked.review_state, review_reason=FLAGGED
            )
        Comment.objects.create(item=item, author_id=user.pk, text=note or "Flagged for review.")
    return locked
