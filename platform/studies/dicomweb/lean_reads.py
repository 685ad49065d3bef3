"""A short middleware path for DICOMweb reads (docs/decisions/0123) and for DICOMweb writes
authenticated by a token (docs/decisions/0132).

A viewer sends hundreds of small GETs per series (one per frame). Through the full middleware
stack each one paid for WhiteNoise, the session and message machinery, CSRF and an
authentication lookup, about as much CPU as the frame itself. This middleware sits right after
SecurityMiddleware; for a GET that resolves to a DICOMweb view it does the parts of the later
middleware that such a request needs, and calls the view directly:

- the Host check (ALLOWED_HOSTS), as CommonMiddleware would (its PREPEND_WWW and
  DISALLOWED_USER_AGENTS are not applied here; Radloop sets neither);
- the session as SessionMiddleware would load it, and request.user from it as
  AuthenticationMiddleware would, but remembered per process (auth.session_user); a token
  request never loads the session at all;
- the response headers the skipped middleware would add: Content-Length (CommonMiddleware),
  X-Frame-Options (XFrameOptionsMiddleware), and Vary: Cookie when the session decided who
  the user is (SessionMiddleware).

Access control, the 401/404 answers and the audit log are the views' own (dicomweb_view), so
they are the same on both paths. Everything else (a session's POST, other URLs, unknown DICOMweb
paths) goes through the full stack unchanged. A middleware added to settings.MIDDLEWARE after
this one does not see DICOMweb reads or token writes: add it before this one if it must.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject

from studies.dicomweb.auth import session_user, uses_token

DICOMWEB_PREFIXES = ("/dicomweb/", "/wado")


def is_dicomweb_read(view: Callable[..., object]) -> bool:
    return bool(getattr(view, "dicomweb_read", False))


class LeanDicomwebReads:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(DICOMWEB_PREFIXES):
            return self.get_response(request)
        # Writes (STOW-RS) authenticated by a token need none of the skipped middleware either:
        # no session, no CSRF token (the views are CSRF-exempt for tokens), no messages. A
        # session's write keeps the full stack and its CSRF check (decision 0132).
        if request.method != "GET" and not uses_token(request):
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if not is_dicomweb_read(match.func):
            return self.get_response(request)
        request.get_host()  # DisallowedHost (→ 400) for a Host outside ALLOWED_HOSTS
        request.resolver_match = match
        by_session = not uses_token(request)
        if by_session:
            # Lazy, like SessionMiddleware's: nothing is read unless the user cache misses.
            request.session = self.session_store(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
            request.user = SimpleLazyObject(lambda: session_user(request))  # type: ignore[assignment]
        response = match.func(request, *match.args, **match.kwargs)
        return self._finish(response, by_session)

    @staticmethod
    def _finish(response: HttpResponseBase, by_session: bool) -> HttpResponseBase:
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))  # type: ignore[attr-defined]
        if not response.has_header("X-Frame-Options"):
            response.headers["X-Frame-Options"] = getattr(
                settings, "X_FRAME_OPTIONS", "DENY"
            ).upper()
        if by_session:
            patch_vary_headers(response, ("Cookie",))
        return response
