"""Health and liveness facts about the running system (database, Redis, worker, beat)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import connection

HEARTBEAT_KEY = "status:heartbeat"
HEARTBEAT_STALE_AFTER = 60  # seconds: several missed beats (sent every 15 s)
PROBE_PREFIX = "status:probe:"


def heartbeat_record() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=24 * 3600)


def probe_record(token: str) -> None:
    cache.set(PROBE_PREFIX + token, time.time(), timeout=3600)


def probe_seen(token: str) -> bool:
    return cache.get(PROBE_PREFIX + token) is not None


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down", reported to the caller
        return False, type(exc).__name__


def redis_ok() -> tuple[bool, str]:
    try:
        client = cache._cache.get_client(write=True)  # noqa: SLF001 - Django's RedisCache client
        client.ping()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__


def workers_status() -> dict[str, object]:
    """Last time beat's heartbeat was run by a worker; stale means worker or beat is down."""
    try:
        last = cache.get(HEARTBEAT_KEY)
    except Exception:  # noqa: BLE001
        last = None
    if last is None:
        return {"status": "unknown", "last_heartbeat_seconds_ago": None}
    age = time.time() - float(last)
    return {
        "status": "ok" if age < HEARTBEAT_STALE_AFTER else "stale",
        "last_heartbeat_seconds_ago": round(age, 1),
    }


def system_status() -> tuple[bool, dict[str, object]]:
    """Return (healthy, report). Healthy means the database and Redis both answer."""
    db_up, db_detail = database_ok()
    redis_up, redis_detail = redis_ok()
    report = {
        "status": "ok" if db_up and redis_up else "unavailable",
        "database": {"status": "ok" if db_up else "down", "detail": db_detail},
        "redis": {"status": "ok" if redis_up else "down", "detail": redis_detail},
        "worker_and_beat": workers_status(),
    }
    return db_up and redis_up, report
