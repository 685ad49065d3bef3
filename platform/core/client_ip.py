"""The caller's address, for login lockout: REMOTE_ADDR, or the address our own reverse proxy
recorded in X-Forwarded-For when settings.TRUSTED_PROXY_COUNT says there is one.

Only the entries our proxies appended are believed (counted from the right): a caller can put
anything in the header it sends, so trusting its leftmost entry would let each guess come from a
"new" address and never be locked out.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    remote = request.META.get("REMOTE_ADDR")
    return str(remote) if remote else None
