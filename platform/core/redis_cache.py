"""Django's Redis cache backend, with one redis-py client per connection pool (decision 0128).

Django's RedisCacheClient builds a new `redis.Redis` object for every cache call. Building one
costs ~100 µs of CPU (redis-py fills a case-insensitive table of ~170 response callbacks each
time), more than the GET it then sends: a DICOMweb frame request, which makes one cache call
(the revocation epoch, decision 0161), spent about a third of its CPU there. A `redis.Redis`
holds no connection of its own (it borrows one from the pool per command) and is safe to share
between threads, so one per pool is kept and reused. After a fork the pool notices the new pid
and opens fresh connections; the client object needs nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own (undeclared in its stubs) pool lookup and client class.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            with self._clients_lock:
                client = self._clients.setdefault(
                    id(pool),
                    self._client(connection_pool=pool),  # type: ignore[attr-defined]
                )
        return client


class RedisCache(DjangoRedisCache):
    """settings.CACHES BACKEND "core.redis_cache.RedisCache": same options as Django's."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
