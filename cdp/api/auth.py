"""Write-key authentication: HTTP Basic (key as username, empty password) or ``writeKey`` in the body."""

from __future__ import annotations

import base64
import binascii
import time

from django.conf import settings

from cdp.api.errors import ApiError
from cdp.models import Source
from cdp.services.sources import source_for_write_key

# Optional per-process cache (CDP_SOURCE_CACHE_SECONDS > 0): saves one query per request at high volume, at the
# price of a disabled source or an expired key being honoured for that many seconds.
_cache: dict[str, tuple[float, Source | None]] = {}


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


def _lookup(key: str) -> Source | None:
    ttl = settings.CDP_SOURCE_CACHE_SECONDS
    if ttl <= 0:
        return source_for_write_key(key)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    source = source_for_write_key(key)
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (now + ttl, source)
    return source


def source_authenticate(key: str | None) -> Source:
    """The enabled source for ``key``; 401 when missing or unknown, 403 when the source is disabled."""
    if not key or not isinstance(key, str):
        raise ApiError(401, "unauthorized", "a write key is required (HTTP Basic username or writeKey)")
    source = _lookup(key)
    if source is None:
        raise ApiError(401, "unauthorized", "unknown write key")
    if not source.enabled:
        raise ApiError(403, "source_disabled", f"the source {source.name!r} is disabled")
    return source
