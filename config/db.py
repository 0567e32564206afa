"""Generic SQL helpers for hot paths that write with raw SQL (server-side binding, array and JSON literals)."""

from __future__ import annotations

import json

import orjson
from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor


def hot_cursor():
    """A Django cursor on the current connection (same transaction, same error translation and query logging)
    that binds parameters server-side, so that Postgres prepares the statements identity resolution repeats for
    every batch once per connection instead of parsing and planning them each time."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    return connection._prepare_cursor(raw)


def ints(values) -> str:
    """A Postgres array literal of integers (Python ints; much cheaper to send than an adapted Python list)."""
    return "{" + ",".join(map(str, values)) + "}"


def to_json(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. integers beyond 64 bits in a trait
        return json.dumps(value, default=str)


def from_json(value):
    return orjson.loads(value) if isinstance(value, str) else (value or {})
