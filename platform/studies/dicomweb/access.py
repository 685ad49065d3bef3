"""The access log for DICOMweb: every access to a study by a person goes to studies.audit.

Reads come by the hundred per study while a doctor scrolls (a search, the metadata, then one
request per frame), so for read actions one event per (user, study, action, root) is written
per AUDIT_WINDOW_S; the cache's atomic `add` decides which request writes it. Whole-instance
retrievals (a copy of the data leaves) and stores are written every time. A search that returns
many studies writes its events in one INSERT. See docs/decisions/0121-dicomweb-audit-coalescing.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest

from studies.audit import record
from studies.dicomweb import hotcache
from studies.models import AuditEvent

log = logging.getLogger(__name__)

AUDIT_WINDOW_S = 300
COALESCED_ACTIONS = frozenset(
    {"qido", "wado-metadata", "wado-frames", "wado-rendered", "wado-thumbnail", "wado-bulkdata"}
)


def _first_in_window(request: HttpRequest, action: str, study: str, project: int | None) -> bool:
    user_id = getattr(getattr(request, "user", None), "pk", None)
    key = f"dicomweb:audit:{user_id}:{project}:{action}:{study}"
    if hotcache.audit_marks.get(key):
        return False  # this process already knows the window's event is written
    hotcache.audit_marks.put(key, True, ttl_s=AUDIT_WINDOW_S)
    try:
        return bool(cache.add(key, 1, timeout=AUDIT_WINDOW_S))
    except Exception as exc:  # without the cache, write every event rather than none
        log.warning("audit coalescing cache unavailable: %s", exc)
        return True


def log_access(
    request: HttpRequest,
    action: str,
    studies: Iterable[str],
    *,
    project: int | None = None,
    **detail: Any,
) -> None:
    due = [
        study
        for study in dict.fromkeys(studies)
        if action not in COALESCED_ACTIONS or _first_in_window(request, action, study, project)
    ]
    if len(due) == 1:
        record(request, action, due[0], project=project, path=request.path, **detail)
    elif due:
        _record_many(request, action, due, {"project": project, "path": request.path, **detail})


def access_events(
    request: HttpRequest,
    action: str,
    studies: Iterable[str],
    *,
    project: int | None = None,
    **detail: Any,
) -> list[AuditEvent]:
    """log_access's rows for an action written every time (a store), unsaved: STOW-RS inserts
    them with its objects' ingest events, in one statement of the transaction that stores the
    objects (decision 0125)."""
    if action in COALESCED_ACTIONS:
        raise ValueError(f"{action!r} is coalesced: use log_access")
    clean = {"project": project, "path": request.path, **detail}
    return _events(request, action, list(dict.fromkeys(studies)), clean)


def _events(
    request: HttpRequest, action: str, studies: list[str], detail: dict[str, Any]
) -> list[AuditEvent]:
    """studies.audit.record's rows, one per study, unsaved."""
    user = getattr(request, "user", None)
    user = user if getattr(user, "is_authenticated", False) else None
    clean = {key: value for key, value in detail.items() if value is not None}
    return [
        AuditEvent(
            user=user,
            action=action[:40],
            study_instance_uid=study[:64],
            detail=clean,
            remote_addr=str(request.META.get("REMOTE_ADDR", ""))[:64],
        )
        for study in studies
    ]


def _record_many(
    request: HttpRequest, action: str, studies: list[str], detail: dict[str, Any]
) -> None:
    """studies.audit.record's row, for many studies in one INSERT."""
    AuditEvent.objects.bulk_create(_events(request, action, studies, detail))
