from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from core.health import run_checks


def _is_staff(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(user.is_staff)
    try:
        result = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return False
    return result is not None and bool(result[0].is_staff)


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """ok / fail for everyone; which check failed, and on what (Redis address, worker host
    names), only for staff: an anonymous caller learns nothing about the inside."""
    checks = run_checks()
    ok = all(check.ok for check in checks)
    body: dict[str, Any] = {"status": "ok" if ok else "fail"}
    if _is_staff(request):
        body |= {check.name: {"ok": check.ok, "detail": check.detail} for check in checks}
    return JsonResponse(body, status=200 if ok else 503)


@lru_cache(maxsize=1)
def _vite_entry() -> dict[str, Any] | None:
    manifest = settings.FRONTEND_DIST / ".vite" / "manifest.json"
    if not manifest.exists():
        return None
    entries: dict[str, Any] = json.loads(manifest.read_text())
    return next((entry for entry in entries.values() if entry.get("isEntry")), None)


@login_required
def spa(request: HttpRequest, path: str = "") -> HttpResponse:
    """The single-page workspace; every client-side route lands here."""
    entry = _vite_entry() if not settings.DEBUG else _vite_entry.__wrapped__()
    return render(request, "core/spa.html", {"entry": entry}, status=200 if entry else 503)
