"""Direct Redis clients for the hot paths that need more than the cache API (pipelines, SET NX), one per URL and
process, with short timeouts: Redis trouble must cost milliseconds, not a stuck request."""

from __future__ import annotations

import redis

_clients: dict[str, redis.Redis] = {}


def redis_client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25)
        _clients[url] = client
    return client
