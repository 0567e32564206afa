"""The per-process cache of write-key lookups, kept correct across processes by a generation number in Redis.

Every change of a source that matters to authentication (rotation, end of a grace period, enabling/disabling,
limits, origins, deletion) bumps ``cdp:sources:gen``. The collection API reads the generation in the same Redis
round trip as its throttling counters (cdp.api.throttle) and drops its cached lookups when it changed, so a
rotated-out, expired or disabled key is refused at once everywhere. Without Redis the cache is not used.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import transaction

from config.redis_clients import redis_client

log = logging.getLogger(__name__)

GENERATION_KEY = "cdp:sources:gen"
_local: dict = {}  # key hash -> (expires monotonic, generation, source); cleared on a local change


def local_cache() -> dict:
    return _local


def _bump() -> None:
    _local.clear()
    try:
        redis_client(settings.REDIS_URL).incr(GENERATION_KEY)
    except (redis.RedisError, OSError) as exc:  # the caches then expire by their TTL (CDP_SOURCE_CACHE_SECONDS)
        log.warning("cdp: could not bump the source cache generation: %s", exc)


def source_cache_invalidate() -> None:
    """Make every process forget its cached write-key lookups: now, and again once the caller's transaction
    commits (a process may have re-read the old row in between)."""
    _bump()
    transaction.on_commit(_bump)
