"""Throttling of the collection API and the generation of the write-key cache, in ONE Redis round trip.

Per client address: requests per second (CDP_ADDRESS_REQUESTS_PER_SECOND); the address is the peer's, or the
X-Forwarded-For hop our own proxies vouch for (config.client_ip, TRUSTED_PROXIES). Per write key: events per
second (the source's own limit, else CDP_KEY_EVENTS_PER_SECOND). Fixed one-second windows; the first request of
a window is always admitted, so a batch larger than the limit is not refused forever. 0 turns a limit off.

Redis is only a hint: when it is unreachable nothing is throttled (fail open), the write-key cache is bypassed,
and Redis is left alone for a few seconds so an outage does not slow every request down with timeouts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from cdp.api.errors import ApiError
from cdp.services.source_cache import GENERATION_KEY
from config.client_ip import client_ip
from config.redis_clients import redis_client

log = logging.getLogger(__name__)

_skip_until: dict[str, float] = {}  # per Redis URL
BACKOFF_SECONDS = 5.0


@dataclass(slots=True)
class Counts:
    address: int = 0  # requests of this address in this second (0: not counted)
    key: int = 0  # events of this write key in this second, this request's included (0: not counted)
    generation: bytes | None = None  # of the write-key cache; None: unknown (do not use the cache)


def _too_many(detail: str) -> ApiError:
    return ApiError(429, "rate_limited", detail, {"Retry-After": "1"})


def count(request, *, key_digest: str, events: int) -> Counts:
    """Count this request against its address and ``events`` against the write key (by its hash), and read the
    cache generation: one pipelined round trip. Raises 429 when the address is over its limit."""
    address_limit = settings.CDP_ADDRESS_REQUESTS_PER_SECOND
    use_cache = settings.CDP_SOURCE_CACHE_SECONDS > 0
    now = time.time()
    url = settings.REDIS_URL
    if now < _skip_until.get(url, 0.0):
        return Counts()
    second = int(now)
    pipe = redis_client(url).pipeline(transaction=False)
    if address_limit:
        address_key = f"cdp:rl:a:{client_ip(request)}:{second}"
        pipe.incr(address_key)
        pipe.expire(address_key, 2)
    # The key's events are always counted (a source may have its own limit even when the default is off).
    key_key = f"cdp:rl:k:{key_digest[:24]}:{second}"
    pipe.incrby(key_key, events)
    pipe.expire(key_key, 2)
    if use_cache:
        pipe.get(GENERATION_KEY)
    try:
        results = pipe.execute()
    except (redis.RedisError, OSError) as exc:
        _skip_until[url] = now + BACKOFF_SECONDS
        log.warning("cdp: throttling skipped, Redis unavailable: %s", exc)
        return Counts()
    counts = Counts()
    i = 0
    if address_limit:
        counts.address = results[0]
        i = 2
    counts.key = results[i]
    i += 2
    if use_cache:
        counts.generation = results[i] or b"0"
    if address_limit and counts.address > address_limit:
        raise _too_many("too many requests from this address; retry later")
    return counts


def key_limit_check(source, counts: Counts, events: int) -> None:
    """429 when the write key is over its events-per-second limit (the source's own, else the default)."""
    limit = source.rate_limit_per_second or settings.CDP_KEY_EVENTS_PER_SECOND
    if limit and counts.key > limit and counts.key - events > 0:
        raise _too_many("too many events for this write key; retry later")
