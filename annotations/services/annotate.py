"""Save annotations: upsert by the client's UID with optimistic concurrency.

Every save adds a version; nothing is overwritten or deleted. The If-Match header names the
version the client edited; a mismatch is a stale write and is refused with 412 (RFC 9110
§13.1.1). Two database guards back the check: (uid, version) is unique and at most one version
per uid is current, so even two writers racing past the check cannot both succeed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from annotations.models import Annotation, AnnotationSource, Item, Lease
from annotations.services.errors import Conflict, Forbidden, Invalid, PreconditionFailed
from annotations.services.provenance import provenance_for_save
from annotations.services.schema import checked_shape, label_schema

_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


@dataclass
class SaveRequest:
    item: Item
    uid: uuid.UUID
    expected_version: int | None
    kind: str
    frame: int
    payload: dict[str, Any]
    time_spent_ms: int
    provenance: dict[str, Any] | None = None


def parse_if_match(header: str | None) -> int | None:
    if header is None or header == "":
        return None
    match = _ETAG.match(header)
    if not match:
        raise Invalid({"If-Match": ['send the ETag you received, e.g. "3"']})
    return int(match.group(1))


def parse_uid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError as exc:
        raise Invalid({"uid": ["an annotation UID is a UUID"]}) from exc


def require_assignment(user: AbstractBaseUser, item: Item) -> None:
    """Only doctors the queue gave this item to write readers' annotations on it.

    Reads `given_to_caller` when access.item_to_write loaded it with the item."""
    given = getattr(item, "given_to_caller", None)
    if given is None:
        given = Lease.objects.filter(item=item, user_id=user.pk).exists()
    if not given:
        raise Forbidden("this item was not given to you by the queue; ask for it with queue/next")


def check_save(
    user: AbstractBaseUser, item: Item, uid: str, if_match: str | None, body: Any
) -> SaveRequest:
    if not isinstance(body, dict):
        raise Invalid({"non_field_errors": ["send {kind, frame, payload}"]})
    require_assignment(user, item)
    missing = [k for k in ("kind", "payload") if k not in body]
    if missing:
        raise Invalid({k: ["this field is required"] for k in missing})
    kind, frame, payload = checked_shape(
        item,
        label_schema(item.project),
        body["kind"],
        body.get("frame", item.frame),
        body["payload"],
    )
    spent = body.get("time_spent_ms", 0)
    if isinstance(spent, bool) or not isinstance(spent, int) or not 0 <= spent <= MAX_TIME_SPENT_MS:
        raise Invalid({"time_spent_ms": ["milliseconds, 0 to 24 h"]})
    provenance = provenance_for_save(item, kind, frame, payload, body.get("provenance"))
    return SaveRequest(
        item, parse_uid(uid), parse_if_match(if_match), kind, frame, payload, spent, provenance
    )


def do_save(user: AbstractBaseUser, request: SaveRequest) -> tuple[Annotation, bool]:
    """Write the next version; returns (annotation, created)."""
    if request.expected_version is None:
        _check_room_for_a_shape(user, request.item)
        return _create(user, request), True
    try:
        with transaction.atomic():
            current = _current_for_update(request.uid)
            if current is None:
                raise PreconditionFailed("no such annotation; omit If-Match to create it")
            _check_writable(user, request.item, current, request.expected_version)
            return _supersede(user, current, request, deleted=False), False
    except IntegrityError as exc:
        # A concurrent writer created this version (or a current one) first.
        raise PreconditionFailed("the annotation changed meanwhile; reload it") from exc


def _check_room_for_a_shape(user: AbstractBaseUser, item: Item) -> None:
    """One reader's current shapes on one item are bounded (ANNOTATION_MAX_SHAPES_PER_ITEM):
    every read of the item and every agreement computation walks them all."""
    limit = settings.ANNOTATION_MAX_SHAPES_PER_ITEM
    shapes = getattr(item, "caller_shapes", None)  # loaded with the item by access.item_to_write
    if shapes is None:
        shapes = Annotation.objects.filter(
            item=item, author_id=user.pk, is_current=True, deleted=False
        ).count()
    if shapes >= limit:
        raise Invalid({"non_field_errors": [f"at most {limit} shapes per item and reader"]})


def _create(user: AbstractBaseUser, request: SaveRequest) -> Annotation:
    """Version 1, inserted first and explained after: the unique indexes refuse a UID that
    exists, so the common case (a new UID) costs one INSERT and no lookup."""
    try:
        with transaction.atomic():
            return _insert(user, request, version=1, deleted=False)
    except IntegrityError as exc:
        current = Annotation.objects.filter(uid=request.uid, is_current=True).first()
        if current is not None:
            _check_writable(user, request.item, current, None)  # always refuses: say why
        raise PreconditionFailed("the annotation changed meanwhile; reload it") from exc


def do_delete(user: AbstractBaseUser, item: Item, uid: str, if_match: str | None) -> Annotation:
    """Soft delete: a new version with deleted=True and the last payload."""
    require_assignment(user, item)
    expected = parse_if_match(if_match)
    if expected is None:
        raise PreconditionFailed("send If-Match with the version you are deleting")
    try:
        with transaction.atomic():
            current = _current_for_update(parse_uid(uid))
            if current is None:
                raise PreconditionFailed("no such annotation")
            _check_writable(user, item, current, expected)
            request = SaveRequest(
                item, current.uid, expected, current.kind, current.frame, current.payload, 0
            )
            return _supersede(user, current, request, deleted=True)
    except IntegrityError as exc:
        raise PreconditionFailed("the annotation changed meanwhile; reload it") from exc


def _current_for_update(uid: uuid.UUID) -> Annotation | None:
    return Annotation.objects.select_for_update().filter(uid=uid, is_current=True).first()


def _check_writable(
    user: AbstractBaseUser, item: Item, current: Annotation, expected: int | None
) -> None:
    if current.item_id != item.pk:
        raise Conflict("this annotation UID belongs to another item")
    if current.author_id != user.pk or current.source != AnnotationSource.HUMAN:
        raise Forbidden("only its author edits an annotation; reviewers adjudicate via review")
    if expected is None:
        raise PreconditionFailed(
            "the annotation exists; send If-Match with its version", current_version=current.version
        )
    if expected != current.version:
        raise PreconditionFailed(
            f"version {expected} is stale; the current version is {current.version}",
            current_version=current.version,
        )


def _supersede(
    user: AbstractBaseUser, current: Annotation, request: SaveRequest, *, deleted: bool
) -> Annotation:
    # Conditional on the version we checked: if another writer got in first, nothing changes.
    flipped = Annotation.objects.filter(
        pk=current.pk, is_current=True, version=current.version
    ).update(is_current=False)
    if not flipped:
        raise PreconditionFailed("the annotation changed meanwhile; reload it")
    return _insert(user, request, version=current.version + 1, deleted=deleted)


def _insert(
    user: AbstractBaseUser, request: SaveRequest, *, version: int, deleted: bool
) -> Annotation:
    """Callers run this in a transaction and turn IntegrityError (a concurrent writer created
    this version, or a current one, first) into 412."""
    return Annotation.objects.create(
        uid=request.uid,
        version=version,
        item=request.item,
        # The user object (not just its id) caches the relation: the response shows the
        # author's name without loading the row back. Any: the stubs expect the concrete User.
        author=cast(Any, user),
        source=AnnotationSource.HUMAN,
        kind=request.kind,
        frame=request.frame,
        payload=request.payload,
        deleted=deleted,
        time_spent_ms=request.time_spent_ms,
        provenance=None if deleted else request.provenance,
    )


def history_for(user: AbstractBaseUser, uid: str) -> list[Annotation]:
    """All versions, oldest first. Readers see their own annotations' history; reviewers and
    admins see every annotation of their projects. Anything else is 404 (blinded reading)."""
    from django.http import Http404

    from annotations.access import REVIEW_ROLES, role_of

    versions = list(
        Annotation.objects.filter(uid=parse_uid(uid), item__in=Item.objects.for_member(user))
        .select_related("author", "item__project")
        .order_by("version")
    )
    if not versions:
        raise Http404("no such annotation")
    mine = versions[-1].author_id == user.pk
    if not mine and role_of(user, versions[-1].item.project) not in REVIEW_ROLES:
        raise Http404("no such annotation")
    return versions
