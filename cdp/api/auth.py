"""Write-key authentication: HTTP Basic (key as username, empty password) or ``writeKey`` in the body."""

from __future__ import annotations

import base64
import binascii
import time

from django.conf import settings

from cdp.api.errors import ApiError
from cdp.models import Source
from cdp.models.sources import write_key_hash
from cdp.services.source_cache import local_cache
from cdp.services.sources import source_for_write_key

_CACHE_MAX = 10_000


def basic_auth_key(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(401, "unauthorized", "malformed Basic authorization header") from None
    return decoded.partition(":")[0] or None


def _lookup(key: str, digest: str, generation: bytes | None) -> Source | None:
    """The source of ``key``; with CDP_SOURCE_CACHE_SECONDS > 0 and a known cache ``generation`` (read from Redis
    by cdp.api.throttle in the same round trip as the counters) a cached answer of the same generation is used,
    so a rotation, an ended grace period or a disabled source is seen by every process at once."""
    ttl = settings.CDP_SOURCE_CACHE_SECONDS
    if ttl <= 0 or generation is None:
        return source_for_write_key(key)
    cache = local_cache()
    now = time.monotonic()
    hit = cache.get(digest)
    if hit is not None and hit[0] > now and hit[1] == generation:
        return hit[2]
    source = source_for_write_key(key)
    if len(cache) > _CACHE_MAX:
        cache.clear()
    cache[digest] = (now + ttl, generation, source)
    return source


def key_present(key) -> str:
    if not key or not isinstance(key, str):
        raise ApiError(401, "unauthorized", "a write key is required (HTTP Basic username or writeKey)")
    return key


def source_authenticate(key: str | None, *, digest: str | None = None, generation: bytes | None = None) -> Source:
    """The enabled source for ``key``; 401 when missing or unknown, 403 when the source is disabled or is the
    CRM's own (its changes come through the outbox; its key must never collect events)."""
    key = key_present(key)
    if digest is None:
        digest = write_key_hash(key)
    source = _lookup(key, digest, generation)
    if source is None:
        raise ApiError(401, "unauthorized", "unknown write key")
    if source.kind == Source.Kind.CRM:
        raise ApiError(403, "crm_source", "the CRM source's key cannot send events; create a server source")
    if not source.enabled:
        raise ApiError(403, "source_disabled", f"the source {source.name!r} is disabled")
    return source
