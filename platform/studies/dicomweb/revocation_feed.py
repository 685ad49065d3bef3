"""Revocations pushed to each web process by Redis pub/sub, read per request without a round trip
(decision 0131, refining 0161).

Decision 0161 made every DICOMweb request read a revocation counter from Redis (one GET): a
third of a warm frame request's CPU and a round trip. Here each process keeps one subscription
to a revocation channel, and a request only looks at that connection's socket (a zero-timeout
read): a revocation published before the request began is already there, delivered by Redis
when the revoker's PUBLISH returned. No thread listens; the request that comes next reads what
arrived.

Nothing may be missed silently, so the request falls back to the counter (0161's GET) whenever
the feed cannot vouch for the time since the last request:
- until Redis has confirmed the subscription (a revocation published before it was registered
  never reaches us), after every reconnection until it is confirmed again, and on the request
  that reads the confirmation: a revocation moves the counter before it is published, so one
  read of the counter then covers whatever happened while unsubscribed;
- when reading the feed fails (Redis down or restarted): the subscription is dropped and made
  again on a later request;
- at least once every CROSS_CHECK_S seconds anyway: a connection that a network device dropped
  without a word has nothing to read and would look quiet forever.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "dicomweb:access-revoked"
CROSS_CHECK_S = 1.0


class Verdict:
    """What the feed says about the time since the previous request."""

    QUIET = "quiet"  # nothing was revoked: caches may be trusted
    REVOKED = "revoked"  # forget the access caches
    UNSURE = "unsure"  # ask the counter (0161's GET)


def channel_name(cache: Any) -> str:
    """The channel beside the counter's key: the cache's key prefix and Redis database (pub/sub
    channels are shared by every database of a server)."""
    client = cache._cache.get_client(write=True)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return f"{cache.make_key(CHANNEL)}@{db}"


class _Subscription:
    def __init__(self, cache: Any) -> None:
        from redis.client import PubSub

        feed = self

        class Watched(PubSub):  # type: ignore[misc]
            def on_connect(self, connection: Any) -> None:
                feed.confirmed = False  # re-subscribing: unsure until Redis confirms again
                super().on_connect(connection)

        client = cache._cache.get_client(write=True)
        self.confirmed = False
        self.checked_at = -CROSS_CHECK_S
        self.pubsub = Watched(client.connection_pool, ignore_subscribe_messages=False)
        self.pubsub.subscribe(channel_name(cache))

    def verdict(self) -> str:
        revoked = confirmed_now = False
        while True:
            message = self.pubsub.get_message(timeout=0.0)
            if message is None:
                break
            if message["type"] == "subscribe":
                self.confirmed = confirmed_now = True
            elif message["type"] == "message":
                revoked = True
        if revoked:
            return Verdict.REVOKED
        # Just (re)subscribed: a revocation published before the subscription took effect moved
        # the counter first (INCR, then PUBLISH), so one read of the counter now covers the gap.
        now = time.monotonic()
        if confirmed_now or not self.confirmed or now - self.checked_at >= CROSS_CHECK_S:
            return Verdict.UNSURE
        return Verdict.QUIET

    def cross_checked(self) -> None:
        self.checked_at = time.monotonic()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a dead connection may fail to close
            self.pubsub.close()


_lock = threading.Lock()
_subscription: tuple[int, _Subscription] | None = None


def verdict() -> str:
    """Read this process's feed (subscribing first if it has none); never raises."""
    global _subscription
    from django.core.cache import cache

    with _lock:
        try:
            if _subscription is None or _subscription[0] != os.getpid():
                _subscription = (os.getpid(), _Subscription(cache))  # not a parent's socket
            return _subscription[1].verdict()
        except Exception as exc:
            log.warning("revocation feed unavailable, asking the counter: %s", exc)
            if _subscription is not None and _subscription[0] == os.getpid():
                _subscription[1].close()
            _subscription = None
            return Verdict.UNSURE


def cross_checked() -> None:
    """The counter was read and compared just now (after an UNSURE verdict)."""
    with _lock:
        if _subscription is not None and _subscription[0] == os.getpid():
            _subscription[1].cross_checked()


def publish(cache: Any, epoch: Any) -> None:
    """Tell every subscribed process that access was revoked (after the counter moved)."""
    cache._cache.get_client(write=True).publish(channel_name(cache), str(epoch))


def reset() -> None:
    """Drop this process's subscription (tests)."""
    global _subscription
    with _lock:
        if _subscription is not None and _subscription[0] == os.getpid():
            _subscription[1].close()
        _subscription = None
