"""Small per-process caches for the DICOMweb read path (docs/decisions/0120 and 0123).

A viewer fetches every frame of a series in a burst. Without these, each frame request costs
database round trips (token or session → user, then the instance row with its access check) and
a Redis round trip (audit coalescing) before any pixel is read; with them, a warm request costs
no query and, usually, no Redis round trip either (the revocation feed below). Entries live
TTL_S seconds. `metadata_json` keeps built instance metadata by content hash: a stored object
never changes, so those entries need no expiry, only a size bound.

Revocation reaches every process at once (docs/decisions/0161): deleting a token,
logging out, saving a user (password, is_active) or changing a membership increments a counter
in Redis after the transaction commits and publishes it; each DICOMweb request reads what its
process's subscription received (docs/decisions/0131), or, when that cannot vouch for the time
since the last request, compares the counter with the value this process last saw, and forgets
its cached users and instances when access was revoked. Without Redis the caches are not
trusted at all (every request authenticates against the database).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

TTL_S = 30.0
MAX_ENTRIES = 20_000


class TTLCache:
    def __init__(self, ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._data: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        now = time.monotonic()
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            if entry[0] < now:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return entry[1]

    def put(self, key: Any, value: Any, ttl_s: float | None = None) -> None:
        expires = time.monotonic() + (self.ttl_s if ttl_s is None else ttl_s)
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class SizedLRU:
    """Least-recently-used bytes values, bounded by their total size (no expiry)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Any, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> bytes | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            self._size += len(value) - (len(old) if old is not None else 0)
            self._data[key] = value
            while self._size > self.max_bytes:
                _, evicted = self._data.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0


tokens = TTLCache()
sessions = TTLCache()
instances = TTLCache()
audit_marks = TTLCache()
# 64 MiB holds the metadata of ~4,000 CT slices per web process.
metadata_json = SizedLRU(64 * 1024 * 1024)


def clear_all() -> None:
    """Forget everything (tests that change permissions between requests call this)."""
    for cache in (tokens, sessions, instances, audit_marks, metadata_json):
        cache.clear()


def _forget_access(**_kwargs: Any) -> None:
    # Within this process a change takes effect at once.
    tokens.clear()
    sessions.clear()
    instances.clear()


EPOCH_KEY = "dicomweb:access-epoch"
_UNKNOWN = object()
_seen_epoch: Any = _UNKNOWN


def sync_revocations() -> None:
    """Called once per DICOMweb request before any cache is read: forget what this process
    cached if any process revoked access since the last request. Usually no round trip: the
    revocation feed's socket says (decision 0131); when the feed cannot vouch for the interval,
    one Redis GET of the counter (decision 0161)."""
    global _seen_epoch
    from django.core.cache import cache

    from studies.dicomweb import revocation_feed

    said = revocation_feed.verdict()
    if said == revocation_feed.Verdict.QUIET:
        return
    if said == revocation_feed.Verdict.REVOKED:
        _forget_access()
    try:
        current = cache.get(EPOCH_KEY, 0)
    except Exception as exc:  # Redis down: a revocation could be missed, so trust no entry
        log.warning("access epoch unavailable, DICOMweb caches bypassed: %s", exc)
        current = _UNKNOWN
    else:
        revocation_feed.cross_checked()
    if current is _UNKNOWN or current != _seen_epoch:
        _forget_access()
        _seen_epoch = current


def _bump_epoch() -> None:
    from django.core.cache import cache

    from studies.dicomweb import revocation_feed

    try:
        cache.add(EPOCH_KEY, 0, timeout=None)
        epoch = cache.incr(EPOCH_KEY)
        revocation_feed.publish(cache, epoch)
    except Exception as exc:  # other processes then follow within TTL_S, as before 0161
        log.warning("could not publish an access revocation: %s", exc)


def _revoke_everywhere(**_kwargs: Any) -> None:
    from django.db import transaction

    _forget_access()
    # After commit: another process that sees the new epoch must also see the deleted row.
    transaction.on_commit(_bump_epoch)


def revoke_when_changed(*models: type[Any]) -> None:
    """Every process forgets its access caches at once when a row of these models is saved or
    deleted (decision 0161)."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        name = model.__name__
        post_save.connect(_revoke_everywhere, sender=model, dispatch_uid=f"hotcache-{name}")
        post_delete.connect(_revoke_everywhere, sender=model, dispatch_uid=f"hotcache-d-{name}")


def forget_when_changed(*models: type[Any]) -> None:
    """This process forgets its access caches when a row of these models changes; others follow
    within TTL_S."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        name = model.__name__
        post_save.connect(_forget_access, sender=model, dispatch_uid=f"hotcache-{name}")
        post_delete.connect(_forget_access, sender=model, dispatch_uid=f"hotcache-d-{name}")


def connect_signals() -> None:
    """Tokens, sessions and users. The project rows that decide access (memberships, items)
    belong to annotations, which registers them when it starts (annotations.apps): studies
    does not import them (decision 0911)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_out
    from django.contrib.sessions.models import Session
    from django.db.models.signals import post_delete
    from rest_framework.authtoken.models import Token

    # Who may authenticate: every process must know at once.
    revoke_when_changed(Token, get_user_model())
    post_delete.connect(_revoke_everywhere, sender=Session, dispatch_uid="hotcache-d-Session")
    user_logged_out.connect(_revoke_everywhere, dispatch_uid="hotcache-logout")


connect_signals()
