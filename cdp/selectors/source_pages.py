"""Reads behind the CDP source pages: who may see them, hourly volume per source, the live debugger feed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from cdp.models import EventImport, RawEvent, RejectedMessage, Source
from crm.roles import MARKETING, SALES, SUPPORT
from crm.selectors.visibility import role_names

# Marketing owns the CDP (sources, keys, debugger, imports); Sales and Support may look at the sources and
# their volume (read-only, no keys or payloads); admins do everything.
MANAGE_ROLES = frozenset({MARKETING})
READ_ROLES = frozenset({SALES, SUPPORT})


def _roles(user: AbstractBaseUser) -> set[str]:
    return role_names(user)


def can_manage_sources(user: AbstractBaseUser) -> bool:
    """Create/edit sources, see write keys and payloads, run imports."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or bool(_roles(user) & MANAGE_ROLES)


def can_view_sources(user: AbstractBaseUser) -> bool:
    """See the sources list, their volume and settings (without keys or payloads)."""
    return can_manage_sources(user) or bool(user.is_authenticated and user.is_active and _roles(user) & READ_ROLES)


def sources_all() -> QuerySet[Source]:
    return Source.objects.order_by("name")


@dataclass(frozen=True)
class HourVolume:
    hour: datetime
    accepted: int
    rejected: int


def sources_hourly_volume(*, hours: int = 24, now: datetime | None = None,
                          source_id: int | None = None) -> dict[int, list[HourVolume]]:
    """Accepted and rejected messages per source (all, or ``source_id``) and hour for the last ``hours``
    hours (oldest first, every hour present, zeros filled), in ONE aggregate query over RawEvent and
    RejectedMessage."""
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    raw, rejected = RawEvent._meta.db_table, RejectedMessage._meta.db_table
    where = "received_at >= %(start)s AND received_at < %(end)s"
    if source_id is not None:
        where += " AND source_id = %(source_id)s"
    sql = f"""
        SELECT source_id, hour, SUM(accepted), SUM(rejected) FROM (
            SELECT source_id, date_trunc('hour', received_at) AS hour, COUNT(*) AS accepted, 0 AS rejected
              FROM {raw} WHERE {where} GROUP BY 1, 2
            UNION ALL
            SELECT source_id, date_trunc('hour', received_at), 0, COUNT(*)
              FROM {rejected} WHERE {where} GROUP BY 1, 2
        ) AS volume GROUP BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": start, "end": end, "source_id": source_id})
        rows = cursor.fetchall()
    # Django runs connections in UTC, so date_trunc cuts UTC hours.
    found: dict[tuple[int, datetime], tuple[int, int]] = {}
    for source_id, hour, accepted, rejected_count in rows:
        hour = hour if timezone.is_aware(hour) else timezone.make_aware(hour, timezone.UTC)
        found[(source_id, hour)] = (int(accepted), int(rejected_count))
    hours_list = [start + timedelta(hours=i) for i in range(hours)]
    series: dict[int, list[HourVolume]] = {}
    for source_id in {key[0] for key in found}:
        series[source_id] = [HourVolume(h, *found.get((source_id, h), (0, 0))) for h in hours_list]
    return series


def empty_volume(*, hours: int = 24, now: datetime | None = None) -> list[HourVolume]:
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return [HourVolume(end - timedelta(hours=hours - i), 0, 0) for i in range(hours)]


@dataclass(frozen=True)
class DebugEntry:
    received_at: datetime
    status: str  # "accepted" | "rejected"
    type: str
    name: str
    message_id: str
    identity: str
    reason: str
    pretty: str
    key: str


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def source_debug_feed(*, source: Source, limit: int = 50) -> list[DebugEntry]:
    """The latest ``limit`` messages of ``source``, accepted and rejected, newest first (two indexed queries)."""
    since = timezone.now() - timedelta(days=7)  # lets partition pruning skip old partitions
    events = (RawEvent.objects.filter(source=source, received_at__gte=since).order_by("-received_at", "-id")
              .values("id", "received_at", "type", "event", "message_id", "user_id", "anonymous_id",
                      "payload")[:limit])
    rejected = (RejectedMessage.objects.filter(source=source, received_at__gte=since).order_by("-received_at",
                                                                                              "-id")
                .values("id", "received_at", "message_id", "error", "detail", "payload")[:limit])
    entries = [
        DebugEntry(received_at=e["received_at"], status="accepted", type=e["type"], name=e["event"] or "",
                   message_id=e["message_id"], identity=e["user_id"] or e["anonymous_id"] or "", reason="",
                   pretty=_pretty(e["payload"]), key=f"e{e['id']}")
        for e in events
    ]
    for r in rejected:
        try:
            payload = json.loads(r["payload"]) if r["payload"] else {}
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        entries.append(DebugEntry(
            received_at=r["received_at"], status="rejected", type=str(payload.get("type") or "—"),
            name=str(payload.get("event") or payload.get("name") or ""), message_id=r["message_id"],
            identity=str(payload.get("userId") or payload.get("anonymousId") or ""),
            reason=f"{r['error']}: {r['detail']}" if r["detail"] else r["error"],
            pretty=_pretty(r["payload"]) if r["payload"] else "", key=f"r{r['id']}"))
    entries.sort(key=lambda entry: entry.received_at, reverse=True)
    return entries[:limit]


def imports_recent(*, limit: int = 50) -> QuerySet[EventImport]:
    return EventImport.objects.select_related("source", "created_by").order_by("-created_at")[:limit]
