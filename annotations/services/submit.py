"""Submit (count a read) and skip. Both close the caller's lease on the item."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, F
from django.http import Http404
from django.utils import timezone

from annotations.agreement import answers_disagree
from annotations.ground_truth import collect_answers
from annotations.models import (
    Annotation,
    Item,
    Lease,
    Project,
    ReviewState,
    Skip,
    SkipReason,
    Submission,
    TaskType,
)
from annotations.services.annotate import MAX_TIME_SPENT_MS
from annotations.services.box_provenance import item_box_edits
from annotations.services.errors import Conflict, Forbidden, Gone, Invalid
from annotations.services.review import FLAGGED

MAX_SKIP_NOTE = 2000  # characters

logger = logging.getLogger(__name__)


@dataclass
class SubmitResult:
    item: Item
    submission: Submission
    counted: bool  # False when this doctor had already submitted (a retried request)


# A client-chosen key per submit/skip request (a UUID in the workspace): a retry names it again.
REQUEST_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


def check_request_key(value: str | None) -> str:
    """The Idempotency-Key header, or "" when the client sent none (a retry then counts once
    anyway for submit, by the one-read-per-doctor rule, but gets `counted: false`)."""
    if value is None or value == "":
        return ""
    if not REQUEST_KEY.fullmatch(value):
        raise Invalid({"Idempotency-Key": ["8 to 64 letters, digits, '-' or '_' (a UUID)"]})
    return value


def check_time_spent(body: Any) -> int:
    spent = body.get("time_spent_ms", 0) if isinstance(body, dict) else None
    if isinstance(spent, bool) or not isinstance(spent, int) or not 0 <= spent <= MAX_TIME_SPENT_MS:
        raise Invalid({"time_spent_ms": ["milliseconds spent on the item, 0 to 24 h"]})
    return spent


def do_submit(
    user: AbstractBaseUser, item_id: int, time_spent_ms: int, request_key: str = ""
) -> SubmitResult:
    """Count the caller's read of the item (404 for outsiders, as access.item_for_member).

    A request that repeats an earlier one's key gets the earlier answer (`counted` as then)."""
    try:
        return _count_read(user, item_id, time_spent_ms, request_key)
    except IntegrityError:  # the same doctor's concurrent retry inserted the read first
        item = Item.objects.get(pk=item_id)
        earlier = Submission.objects.get(item=item, user_id=user.pk)
        return SubmitResult(item, earlier, bool(request_key) and earlier.request_key == request_key)


def _count_read(
    user: AbstractBaseUser, item_id: int, time_spent_ms: int, request_key: str
) -> SubmitResult:
    with transaction.atomic():
        # Lock the item row first: its reads, lease and review state change together, and
        # everything below is read after the lock, so it sees what the previous holder wrote.
        item = (
            Item.objects.for_member(user)
            .select_related("project", "instance")
            .defer("instance__frame_offsets")
            .select_for_update(of=("self",))
            .filter(pk=item_id)
            .first()
        )
        if item is None:
            raise Http404("no such item")
        project = item.project
        if request_key:
            replayed = Submission.objects.filter(user_id=user.pk, request_key=request_key).first()
            if replayed is not None:
                if replayed.item_id != item.pk:
                    raise Conflict("this Idempotency-Key was used for another item")
                return SubmitResult(item, replayed, counted=True)  # the first answer, again
        lease = _my_last_lease(user, item)
        if lease is None or lease.already_read:  # type: ignore[attr-defined]
            earlier = Submission.objects.filter(item=item, user_id=user.pk).first()
            if earlier is not None:
                return SubmitResult(item, earlier, counted=False)
        _check_submittable(project, item, lease)
        assert lease is not None
        box_edits = None
        if project.task_type == TaskType.DETECTION:
            box_edits = item_box_edits(item, user.pk, project)
        submission = Submission.objects.create(
            item=item,
            user_id=user.pk,
            time_spent_ms=time_spent_ms,
            request_key=request_key,
            box_edits=box_edits,
        )
        counted = Item.objects.filter(pk=item.pk, reads_done__lt=project.readers_per_item).update(
            reads_done=F("reads_done") + 1, lease_expires_at=None
        )
        if not counted:
            raise Gone("this item already has all its reads")
        Lease.objects.filter(pk=lease.pk, closed_at__isnull=True).update(
            closed_at=timezone.now(), outcome="submitted"
        )
        item.reads_done += 1  # what the UPDATE wrote, without reading the row back
        item.lease_expires_at = None
        if item.reads_done >= project.readers_per_item:
            _finish_reads(project, item)
        if project.retrain_every:  # 0 turns automatic training off: nothing to tell
            transaction.on_commit(partial(labels_submitted, project.pk))
    return SubmitResult(item, submission, counted=True)


def _my_last_lease(user: AbstractBaseUser, item: Item) -> Lease | None:
    """The caller's newest lease on the item, with `already_read` (a read is counted) and
    `has_answer` (a current annotation is saved) from the same query."""
    mine = {"item": item, "user_id": user.pk}
    answers = Annotation.objects.filter(
        item=item, author_id=user.pk, is_current=True, deleted=False
    )
    return (
        Lease.objects.filter(**mine)
        .annotate(
            already_read=Exists(Submission.objects.filter(**mine)), has_answer=Exists(answers)
        )
        .order_by("-created_at")
        .first()
    )


def _check_submittable(project: Project, item: Item, lease: Lease | None) -> None:
    if lease is None:
        raise Forbidden("this item was not given to you by the queue")
    if not lease.has_answer:  # type: ignore[attr-defined]
        raise Conflict("save at least one annotation before submitting")
    if lease.outcome == "skipped":
        raise Conflict("you skipped this item")
    # Another claimer closes an expired lease when it takes the item over; an expired lease
    # that is still open means nobody needed the item meanwhile, so the read still counts.
    if lease.closed_at is not None or item.reads_done >= project.readers_per_item:
        # The annotations stay saved; they just do not count as a read (docs/workflow.md).
        raise Gone("your lease expired and the item went to another doctor")


def _finish_reads(project: Project, item: Item) -> None:
    """All reads are in: decide whether the item needs review, and whether it is complete."""
    reason = ""
    if item.review_state == ReviewState.PENDING and item.review_reason == FLAGGED:
        reason = FLAGGED  # a member asked for review before the last read: it stays asked
    elif project.require_review:
        reason = "required"
    elif project.readers_per_item > 1 and _readers_disagree(project, item):
        reason = "disagreement"
    elif in_review_sample(project, item.pk):
        reason = "sample"
    item.review_state = ReviewState.PENDING if reason else ReviewState.NONE
    item.review_reason = reason
    item.completed = not project.require_review
    Item.objects.filter(pk=item.pk).update(
        review_state=item.review_state, review_reason=reason, completed=item.completed
    )


def _readers_disagree(project: Project, item: Item) -> bool:
    answers = collect_answers(project, [item.pk])[item.pk]
    instance = item.instance
    return answers_disagree(
        answers.readers,
        task_type=project.task_type,
        rows=instance.rows if instance else None,
        cols=instance.columns if instance else None,
    )


def in_review_sample(project: Project, item_id: int) -> bool:
    """A stable draw per item: the same items are sampled whenever this is asked."""
    if project.review_sample_rate <= 0:
        return False
    digest = hashlib.sha256(f"review:{project.queue_seed}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < project.review_sample_rate


def labels_submitted(project_id: int) -> None:
    """Tell the learning loop (learning.triggers) that labels arrived."""
    try:
        from learning.triggers import on_labels_submitted
    except ImportError:  # the learning app is optional in a bare workflow deployment
        return
    on_labels_submitted(project_id)


def check_skip(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise Invalid({"reason": ["send {reason, note}"]})
    reason, note = body.get("reason"), body.get("note", "")
    if reason not in SkipReason.values:
        raise Invalid({"reason": [f"one of {', '.join(SkipReason.values)}"]})
    if not isinstance(note, str) or len(note) > MAX_SKIP_NOTE:
        raise Invalid({"note": [f"text up to {MAX_SKIP_NOTE} characters"]})
    return reason, note


def do_skip(
    user: AbstractBaseUser, item: Item, reason: str, note: str, request_key: str = ""
) -> Skip:
    """Close the caller's lease as skipped; a repeated key gets the first skip back."""
    with transaction.atomic():
        locked = Item.objects.select_for_update().get(pk=item.pk)
        if request_key:
            replayed = Skip.objects.filter(user_id=user.pk, request_key=request_key).first()
            if replayed is not None:
                if replayed.item_id != locked.pk:
                    raise Conflict("this Idempotency-Key was used for another item")
                return replayed
        leases = Lease.objects.filter(item=locked, user_id=user.pk)
        if not leases.exists():
            raise Forbidden("this item was not given to you by the queue")
        lease = leases.filter(closed_at__isnull=True).first()
        if lease is None:
            raise Conflict("you no longer hold this item (submitted, skipped or taken over)")
        now = timezone.now()
        Lease.objects.filter(pk=lease.pk).update(closed_at=now, outcome="skipped")
        Item.objects.filter(pk=locked.pk).update(lease_expires_at=None)
        return Skip.objects.create(
            item=locked, user_id=user.pk, reason=reason, note=note, request_key=request_key
        )
