"""Attach studies to a project: one Item per instance, per frame, or per series (Project.unit).

The Items, their cold-start priority and patient key come from annotations.items, the one
creator every ingest path shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import QuerySet

from annotations.items import create_items
from annotations.models import Project
from annotations.services.errors import Invalid
from studies.models import Instance, Study

QUERY_FIELDS = ("modality", "series_description", "date_from", "date_to", "body_part")


def attach_instances(project: Project, instances: Iterable[Instance]) -> int:
    """Create the missing Items for these instances; returns how many were created.

    Idempotent: attaching the same instances again creates nothing."""
    with transaction.atomic():
        return create_items(project, instances)


# Granularity: whole studies, chosen series, or chosen instances (the "add existing studies"
# page sends what the admin ticked), or a query over the visible archive.
UID_FIELDS = {
    "study_uids": ("series__study__study_instance_uid", "study"),
    "series_uids": ("series__series_instance_uid", "series"),
    "sop_instance_uids": ("sop_instance_uid", "instance"),
}
MAX_UIDS = 5000


def check_attach_request(
    user: AbstractBaseUser | AnonymousUser, body: Mapping[str, Any]
) -> QuerySet[Instance]:
    """Resolve {"study_uids" | "series_uids" | "sop_instance_uids": [...]} or {"query": {...}}
    to instances the caller may see."""
    visible = Study.objects.for_user(user)
    sent = [name for name in (*UID_FIELDS, "query") if body.get(name) is not None]
    if len(sent) != 1:
        raise Invalid(
            {"non_field_errors": [f"send exactly one of {', '.join((*UID_FIELDS, 'query'))}"]}
        )
    (name,) = sent
    instances = Instance.objects.select_related("series__study__patient").filter(
        series__study__in=visible
    )
    if name == "query":
        return instances.filter(**_query_filters(body["query"]))
    uids = body[name]
    if (
        not isinstance(uids, list)
        or not uids
        or len(uids) > MAX_UIDS
        or not all(isinstance(u, str) for u in uids)
    ):
        raise Invalid({name: [f"a non-empty list of at most {MAX_UIDS} UIDs"]})
    path, _ = UID_FIELDS[name]
    chosen = instances.filter(**{f"{path}__in": uids})
    found = set(chosen.values_list(path, flat=True).distinct())
    missing = [u for u in uids if u not in found]
    if missing:
        # Unknown and invisible ones read the same, so nothing leaks about other projects.
        level = UID_FIELDS[name][1]
        raise Invalid({name: [f"no such {level}: {', '.join(missing[:20])}"]})
    return chosen


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
    return {
        "studies": len({i.series.study_id for i in listed}),
        "series": len({i.series_id for i in listed}),
        "instances": len(listed),
        "items_created": created,
    }
