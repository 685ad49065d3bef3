"""Small per-process caches for the DICOMweb read path (docs/decisions/0120 and 0123).

A viewer fetches every frame of a series in a burst. Without these, each frame request costs
database round trips (token or session → user, then the instance row with its access check) and
a Redis round trip (audit coalescing) before any pixel is read; with them, a warm request touches
neither. Entries live TTL_S seconds, so a revoked token, session or membership stops working
within that time. `metadata_json` keeps built instance metadata by content hash: a stored object
never changes, so those entries need no expiry, only a size bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

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
    # Within this process a revoked token, session or membership takes effect at once; other
    # processes follow within TTL_S.
    tokens.clear()
    sessions.clear()
    instances.clear()


def forget_access_when_changed(*models: type[Any]) -> None:
    """Clear the access caches whenever a row of these models is saved or deleted. The rows that
    decide project access (memberships, items) belong to annotations, which registers them here
    when it starts (annotations.apps): studies does not import them."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        post_save.connect(_forget_access, sender=model, dispatch_uid=f"hotcache-{model.__name__}")
        post_delete.connect(
            _forget_access, sender=model, dispatch_uid=f"hotcache-d-{model.__name__}"
        )


def connect_signals() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.signals import user_logged_out
    from rest_framework.authtoken.models import Token

    forget_access_when_changed(Token, get_user_model())
    user_logged_out.connect(_forget_access, dispatch_uid="hotcache-logout")


connect_signals()
