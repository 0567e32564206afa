"""Helpers for the collection tests (tests/cdp/test_collect_*.py, tests/cdp/test_sdk_*.py)."""

from __future__ import annotations

import base64
import gzip
import itertools
from typing import Any

import orjson

from cdp.models import Source
from cdp.services.sources import source_create

_names = itertools.count(1)


def make_source(**kwargs: Any) -> Source:
    kwargs.setdefault("name", f"Source {next(_names)}")
    kwargs.setdefault("kind", Source.Kind.SERVER)
    return source_create(**kwargs)


def basic(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def post(client, path: str, body: Any, *, key: str | None = None, gzipped: bool = False,
         content_type: str = "application/json", **extra: str):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    if gzipped:
        data = gzip.compress(data)
        extra["HTTP_CONTENT_ENCODING"] = "gzip"
    if key is not None:
        extra |= basic(key)
    return client.generic("POST", path, data, content_type=content_type, **extra)


def track(n: int = 0, **fields: Any) -> dict[str, Any]:
    message = {
        "type": "track",
        "event": "Order Completed",
        "userId": f"user-{n}",
        "messageId": f"msg-{n}",
        "timestamp": "2026-01-01T10:00:00Z",
        "properties": {"revenue": 42.5, "currency": "EUR", "n": n},
        "context": {"library": {"name": "test", "version": "1"}},
    }
    message.update(fields)
    return message
