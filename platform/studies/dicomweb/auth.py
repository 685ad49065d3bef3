"""Who is asking: a Django session or `Authorization: Token KEY` (DRF tokens), nothing else.

DICOMweb views are plain Django views (DRF's content negotiation would get in the way of
multipart responses), so the two schemes DRF uses elsewhere are applied here by hand. A session
request that changes state (STOW) must pass the CSRF check, exactly as DRF's
SessionAuthentication demands; token requests need no CSRF token.

Reads (GET) come through studies.dicomweb.lean_reads, which puts `session_user` behind
request.user: the session's user is remembered per process for hotcache.TTL_S, as tokens are
(docs/decisions/0123), until any process revokes access (docs/decisions/0161).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from studies.dicomweb import hotcache
from studies.dicomweb.errors import DicomwebError

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _csrf_failure_reason(request: HttpRequest) -> str | None:
    def no_view(*_args: Any, **_kwargs: Any) -> HttpResponse:
        return HttpResponse()

    check = CsrfViewMiddleware(no_view)  # type: ignore[arg-type]
    check.process_request(request)
    response = check.process_view(request, no_view, (), {})
    return None if response is None else "CSRF check failed"


def session_user(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    """The user of the request's session cookie (request.session must be set), cached."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return AnonymousUser()
    user = hotcache.sessions.get(key)
    if user is None:
        # Django's own check: the session exists, is not expired, and its auth hash still
        # matches the user's password.
        user = get_user(request)
        if not user.is_authenticated:
            return user
        hotcache.sessions.put(key, user)
    return user  # type: ignore[no-any-return]


def uses_token(request: HttpRequest) -> bool:
    return str(request.META.get("HTTP_AUTHORIZATION", "")).split(" ", 1)[0].lower() == "token"


def authenticate(request: HttpRequest) -> AbstractBaseUser:
    """The user behind the request, or a 401/403 DicomwebError."""
    hotcache.sync_revocations()  # before any cached user or instance is trusted (0161)
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if uses_token(request):
        user = hotcache.tokens.get(header)
        if user is None:
            try:
                result = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
            except AuthenticationFailed as exc:
                raise DicomwebError(401, str(exc.detail)) from exc
            if result is None:
                raise DicomwebError(401, "invalid token")
            user = result[0]
            hotcache.tokens.put(header, user)
        request.user = user
        return user
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise DicomwebError(401, "authentication required (session or 'Authorization: Token')")
    if request.method not in _SAFE_METHODS and _csrf_failure_reason(request):
        raise DicomwebError(403, "CSRF check failed for a session-authenticated request")
    return user
