"""Attach studies to a project: one Item per instance, per frame, or per series (Project.unit).

Cold-start order: each new item gets a pseudo-random priority derived from the project's seed
and the item's identity, so the order is reproducible and unrelated to ingest order. The
learning loop overwrites priorities once it has scores (learning.services.scoring).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import QuerySet

from annotations.models import Item, Project, WorkUnit
from annotations.services.errors import Invalid
from studies.models import Instance, Study

QUERY_FIELDS = ("modality", "series_description", "date_from", "date_to", "body_part")


def cold_start_priority(seed: int, *identity: object) -> float:
    """A stable number in [0, 1) from the project seed and the item identity."""
    digest = hashlib.sha256(":".join(map(str, (seed, *identity))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _patient_key(instance: Instance) -> str:
    patient = instance.series.study.patient
    return f"{patient.issuer}/{patient.patient_id}" if patient.patient_id else ""


def attach_instances(project: Project, instances: Iterable[Instance]) -> int:
    """Create the missing Items for these instances; returns how many were created.

    Idempotent: attaching the same instances again creates nothing."""
    instances = list(instances)
    if not instances:
        return 0
    wanted: list[Item] = []
    seen_series: set[int] = set()
    for instance in instances:
        key = _patient_key(instance)
        if project.unit == WorkUnit.SERIES:
            if instance.series_id in seen_series:
                continue
            seen_series.add(instance.series_id)
            wanted.append(_item(project, None, instance.series_id, 1, key))
        elif project.unit == WorkUnit.FRAME:
            for frame in range(1, (instance.number_of_frames or 1) + 1):
                wanted.append(_item(project, instance, instance.series_id, frame, key))
        else:
            wanted.append(_item(project, instance, instance.series_id, 1, key))
    with transaction.atomic():
        before = Item.objects.filter(project=project).count()
        # ignore_conflicts: the unique constraints make re-attaching (or a concurrent attach)
        # harmless instead of an error.
        Item.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=500)
        return Item.objects.filter(project=project).count() - before


def _item(
    project: Project, instance: Instance | None, series_id: int, frame: int, patient_key: str
) -> Item:
    identity = (instance.pk, frame) if instance is not None else ("series", series_id)
    return Item(
        project=project,
        instance=instance,
        series_id=series_id,
        frame=frame,
        patient_key=patient_key,
        priority=cold_start_priority(project.queue_seed, *identity),
    )


def check_attach_request(
    user: AbstractBaseUser | AnonymousUser, body: Mapping[str, Any]
) -> QuerySet[Instance]:
    """Resolve {"study_uids": [...]} or {"query": {...}} to instances the caller may see."""
    visible = Study.objects.for_user(user)
    uids, query = body.get("study_uids"), body.get("query")
    if (uids is None) == (query is None):
        raise Invalid({"non_field_errors": ["send either study_uids or query"]})
    instances = Instance.objects.select_related("series__study__patient")
    if uids is not None:
        if not isinstance(uids, list) or not uids or not all(isinstance(u, str) for u in uids):
            raise Invalid({"study_uids": ["a non-empty list of Study Instance UIDs"]})
        found = set(
            visible.filter(study_instance_uid__in=uids).values_list("study_instance_uid", flat=True)
        )
        missing = [u for u in uids if u not in found]
        if missing:
            # Unknown and invisible studies read the same, so nothing leaks about other projects.
            raise Invalid({"study_uids": [f"no such study: {', '.join(missing[:20])}"]})
        return instances.filter(series__study__study_instance_uid__in=uids)
    return instances.filter(series__study__in=visible).filter(**_query_filters(query))


def _query_filters(query: Any) -> dict[str, Any]:
    if not isinstance(query, Mapping) or not query:
        raise Invalid({"query": [f"an object with some of: {', '.join(QUERY_FIELDS)}"]})
    unknown = sorted(set(query) - set(QUERY_FIELDS))
    if unknown:
        raise Invalid({"query": [f"unknown fields: {', '.join(unknown)}"]})
    filters: dict[str, Any] = {}
    for name, value in query.items():
        if not isinstance(value, str) or not value:
            raise Invalid({f"query.{name}": ["a non-empty string"]})
        if name in ("date_from", "date_to") and not (len(value) == 8 and value.isdigit()):
            raise Invalid({f"query.{name}": ["a DICOM date, YYYYMMDD"]})
    if "modality" in query:
        filters["series__modality__iexact"] = query["modality"]
    if "series_description" in query:
        filters["series__description__icontains"] = query["series_description"]
    if "body_part" in query:
        filters["series__body_part__iexact"] = query["body_part"]
    # DA values are YYYYMMDD strings (PS3.5 §6.2), so string order is date order.
    if "date_from" in query:
        filters["series__study__study_date__gte"] = query["date_from"]
    if "date_to" in query:
        filters["series__study__study_date__lte"] = query["date_to"]
    return filters


def do_attach(project: Project, instances: QuerySet[Instance]) -> dict[str, int]:
    listed = list(instances)
    created = attach_instances(project, listed)
    return {"instances": len(listed), "items_created": created}
