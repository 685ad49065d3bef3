"""A small per-process TTL cache for the frame hot path (docs/decisions/0120).

A viewer fetches every frame of a series in a burst. Without this, each frame request costs two
database round trips (token → user, then the instance row with its access check) and a Redis
round trip (audit coalescing) before any pixel is read; with it, a warm request touches neither.
Entries live TTL_S seconds, so a revoked token or membership stops working within that time.
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


tokens = TTLCache()
instances = TTLCache()
audit_marks = TTLCache()


def clear_all() -> None:
    """Forget everything (tests that change permissions between requests call this)."""
    for cache in (tokens, instances, audit_marks):
        cache.clear()


def _forget_access(**_kwargs: Any) -> None:
    # Within this process a revoked token or membership takes effect at once; other processes
    # follow within TTL_S.
    tokens.clear()
    instances.clear()


def connect_signals() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save
    from rest_framework.authtoken.models import Token

    from annotations.models import Item, Membership

    for model in (Token, Membership, Item, get_user_model()):
        post_save.connect(_forget_access, sender=model, dispatch_uid=f"hotcache-{model.__name__}")
        post_delete.connect(
            _forget_access, sender=model, dispatch_uid=f"hotcache-d-{model.__name__}"
        )


connect_signals()
