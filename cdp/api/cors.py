"""CORS for browser senders: a source lists the origins it accepts; the app's own origin is always accepted."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from cdp.models import Source

ALLOW_METHODS = "POST, OPTIONS"
ALLOW_HEADERS = "Content-Type, Content-Encoding, Authorization"
MAX_AGE = "86400"
# scheme://host[:port], printable ASCII only: anything else is never echoed back in a header.
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[A-Za-z0-9._~\-\[\]:%]+", re.IGNORECASE)


def _same_origin(request, origin: str) -> bool:
    meta = request.META
    host = meta.get("HTTP_HOST")
    if not host:
        host = meta.get("SERVER_NAME", "")
        if str(meta.get("SERVER_PORT", "80")) not in ("80", "443"):
            host = f"{host}:{meta['SERVER_PORT']}"
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:  # e.g. "http://[" (an invalid IPv6 literal)
        return False
    return bool(host) and netloc.lower() == host.lower()


def origin_matches(patterns: list[str], origin: str) -> bool:
    origin = origin.lower().rstrip("/")
    for pattern in patterns:
        pattern = pattern.strip().lower().rstrip("/")
        if pattern == "*" or pattern == origin or ("*" in pattern and fnmatchcase(origin, pattern)):
            return True
    return False


def origin_valid(origin: str) -> bool:
    return len(origin) <= 300 and bool(_ORIGIN.fullmatch(origin))


def origin_allowed(request, source: Source, origin: str) -> bool:
    if not origin_valid(origin):
        return False
    return _same_origin(request, origin) or origin_matches(source.allowed_origins, origin)


def origin_allowed_by_any_source(request, origin: str) -> bool:
    """For preflights (which carry no write key): does any enabled source accept this origin?"""
    if not origin_valid(origin):
        return False
    if _same_origin(request, origin):
        return True
    for patterns in Source.objects.filter(enabled=True).exclude(allowed_origins=[]).values_list(
        "allowed_origins", flat=True
    ):
        if origin_matches(patterns, origin):
            return True
    return False


def cors_headers(origin: str, *, preflight: bool = False) -> dict[str, str]:
    headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if preflight:
        headers |= {
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
        }
    return headers
