"""Heat maps on demand: who may see one, and the queued row + task the first request creates.

The active model version explains; its map is cached (one HeatMap row and its files per item
and version). A request that finds no row creates one and sends the `infer` task after commit;
a row stuck queued/running past STALE_AFTER (its message lost, its worker killed) is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from annotations import access
from annotations.models import Item, TaskType
from annotations.services.suggestions import may_see_suggestion
from core import dispatch
from learning.models import ModelVersion
from learning.services.registry import active_version
from reports.models import HeatMap, HeatMapStatus

STALE_AFTER = timedelta(minutes=5)


def check_can_see_heatmap(user: Any, item_id: int) -> tuple[Item, ModelVersion]:
    """The item and the version that explains it; 404 for outsiders, for items the caller may
    not see a suggestion on yet (anti-anchoring), and when there is nothing to explain."""
    item = access.item_for_member(user, item_id)
    role = access.role_of(user, item.project)
    answered = item.annotations.filter(author_id=user.pk, is_current=True, deleted=False).exists()
    if not may_see_suggestion(item.project, role, answered):
        raise Http404("no heat map for you on this item")
    if item.project.task_type != TaskType.CLASSIFICATION or item.instance_id is None:
        raise Http404("heat maps explain classification models on single images")
    version = active_version(item.project_id)
    if version is None:
        raise Http404("the project has no active model yet")
    return item, version


@dataclass(frozen=True)
class HeatMapRequest:
    heatmap: HeatMap
    sent: bool  # whether this request (re)queued the computation


def do_request_heatmap(item: Item, version: ModelVersion) -> HeatMapRequest:
    """The cached map, or a queued one (its task sent after commit)."""
    now = timezone.now()
    heatmap = HeatMap.objects.filter(item=item, model_version=version).first()
    if heatmap is None:
        try:
            with transaction.atomic():
                heatmap = HeatMap.objects.create(item=item, model_version=version, requested_at=now)
        except IntegrityError:  # a concurrent request created it first
            return HeatMapRequest(HeatMap.objects.get(item=item, model_version=version), False)
        dispatch.after_commit(dispatch.EXPLAIN, heatmap.pk)
        return HeatMapRequest(heatmap, True)
    pending = heatmap.status in (HeatMapStatus.QUEUED, HeatMapStatus.RUNNING)
    if pending and heatmap.requested_at < now - STALE_AFTER:
        HeatMap.objects.filter(pk=heatmap.pk, requested_at=heatmap.requested_at).update(
            status=HeatMapStatus.QUEUED, requested_at=now
        )
        dispatch.after_commit(dispatch.EXPLAIN, heatmap.pk)
        heatmap.refresh_from_db()
        return HeatMapRequest(heatmap, True)
    return HeatMapRequest(heatmap, False)


def heatmap_url(item_id: int) -> str:
    return f"/api/v1/items/{item_id}/heatmap"
