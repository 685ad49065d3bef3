"""The access log: who touched which study, when and how (PS3.15 Annex A.5 audit trail;
the HIPAA access-log expectation). DICOMweb views and ingest call `record`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.request import Request

from studies.models import AuditEvent


def _remote_addr(request: HttpRequest | Request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it,
    # and the deployment's proxy is expected to set REMOTE_ADDR (see docs/operations).
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def record(
    request_or_user: HttpRequest | Request | Any,
    action: str,
    study_instance_uid: str,
    **detail: Any,
) -> AuditEvent:
    """Write one AuditEvent. Pass the request when there is one (it gives the address too)."""
    user: Any
    if isinstance(request_or_user, HttpRequest | Request):
        user = request_or_user.user
        remote_addr = _remote_addr(request_or_user)
    else:
        user, remote_addr = request_or_user, ""
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return AuditEvent.objects.create(
        user=user,
        action=action[:40],
        study_instance_uid=(study_instance_uid or "")[:64],
        detail={key: value for key, value in detail.items() if value is not None},
        remote_addr=remote_addr,
    )
