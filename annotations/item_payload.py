"""Build ItemPayload documents (API.md) for a page of items in a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from annotations.access import REVIEW_ROLES
from annotations.models import Annotation, AnnotationSource, Item, Lease, Project
from annotations.serializers import AnnotationSerializer, instance_summary
from annotations.services.suggestions import may_see_suggestion, suggestions_for


def item_payloads(
    project: Project,
    items: Sequence[Item],
    user: AbstractBaseUser,
    role: str | None,
    leases: dict[int, Lease] | None = None,
    *,
    all_readers: bool = False,
) -> list[dict[str, Any]]:
    """`all_readers`: reviewers and admins see every reader's current annotations."""
    ids = [item.pk for item in items]
    annotations = Annotation.objects.filter(
        item_id__in=ids, is_current=True, deleted=False
    ).select_related("author")
    if not (all_readers and role in REVIEW_ROLES):
        annotations = annotations.filter(author_id=user.pk, source=AnnotationSource.HUMAN)
    by_item: dict[int, list[Annotation]] = defaultdict(list)
    for annotation in annotations.order_by("created_at", "pk"):
        by_item[annotation.item_id].append(annotation)
    answered = {a.item_id for group in by_item.values() for a in group if a.author_id == user.pk}
    visible = [i for i in ids if may_see_suggestion(project, role, i in answered)]
    suggestions = suggestions_for(project, visible) if visible else {}
    out = []
    for item in items:
        lease = (leases or {}).get(item.pk)
        out.append(
            {
                "id": item.pk,
                "project": item.project_id,
                "frame": item.frame,
                "lease": None
                if lease is None
                else {"id": lease.pk, "expires_at": lease.expires_at.isoformat()},
                "instance": instance_summary(item),
                "annotations": AnnotationSerializer(by_item.get(item.pk, []), many=True).data,
                "suggestion": suggestions.get(item.pk),
                "reads_done": item.reads_done,
                "completed": item.completed,
            }
        )
    return out


# What item_payloads and instance_summary read. Instances also carry per-frame byte offsets
# (thousands of numbers for a long multi-frame series) that a queue answer never shows.
PAYLOAD_FIELDS = (
    *("id", "project", "frame", "reads_done", "completed", "instance", "series"),
    *("instance__sop_instance_uid", "instance__rows", "instance__columns"),
    *("instance__number_of_frames", "instance__series"),
    *("instance__series__series_instance_uid", "instance__series__modality"),
    *("instance__series__study", "instance__series__study__study_instance_uid"),
    *("series__series_instance_uid", "series__modality", "series__study"),
    "series__study__study_instance_uid",
)


def load_items(ids: Sequence[int]) -> list[Item]:
    """Items for item_payloads, by id, in the order given."""
    by_id = {
        item.pk: item
        for item in Item.objects.filter(pk__in=list(ids))
        .select_related("instance__series__study", "series__study")
        .only(*PAYLOAD_FIELDS)
    }
    return [by_id[i] for i in ids if i in by_id]
