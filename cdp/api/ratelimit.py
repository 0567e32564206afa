"""Per-write-key rate limit: a fixed one-second window counted in Redis.

Redis is only a hint here: if it is unreachable the limit is not enforced (fail open) and Redis is left alone
for a few seconds, so an outage neither rejects data nor slows every request down with timeouts.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

from cdp.models import Source

log = logging.getLogger(__name__)

_clients: dict[str, redis.Redis] = {}
_skip_until: dict[str, float] = {}  # per Redis URL
BACKOFF_SECONDS = 5.0


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25)
        _clients[url] = client
    return client


def rate_limit_exceeded(source: Source, count: int) -> bool:
    """Count ``count`` events against the source's limit for this second; True when over the limit.

    The first request of a window is always admitted (so a batch larger than the limit is not refused forever).
    """
    limit = source.rate_limit_per_second or settings.CDP_DEFAULT_RATE_LIMIT_PER_SECOND
    if not limit or count <= 0:
        return False
    now = time.time()
    url = settings.REDIS_URL
    if now < _skip_until.get(url, 0.0):
        return False
    key = f"cdp:rl:{source.pk}:{int(now)}"
    try:
        pipe = _client(url).pipeline(transaction=False)
        pipe.incrby(key, count)
        pipe.expire(key, 2)
        total, _ = pipe.execute()
    except (redis.RedisError, OSError) as exc:
        _skip_until[url] = now + BACKOFF_SECONDS
        log.warning("cdp: rate limiting skipped, Redis unavailable: %s", exc)
        return False
    return total > limit and total - count > 0
