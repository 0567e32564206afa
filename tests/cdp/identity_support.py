"""Helpers for the identity/profile tests: ingest messages through the one ingestion path, then process."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from cdp.models import Identifier, Profile, RawEvent, Source
from cdp.services.ingest import events_ingest
from cdp.services.processing import batch_process

_seq = itertools.count(1)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def msg(type_: str = "track", *, minute: float = 0, **fields) -> dict:
    m = {"type": type_, "messageId": f"m-{next(_seq)}", "timestamp": at(minute)}
    if type_ == "track":
        m.setdefault("event", fields.pop("event", "Clicked"))
    if type_ in ("page", "screen"):
        m.setdefault("name", fields.pop("name", "Home"))
    m.update(fields)
    return m


def source(kind: str = "server", name: str | None = None, *, identity_keys: bool | None = None) -> Source:
    """``identity_keys`` True: a website/mobile source configured to let email, phone and external ids join
    profiles (Source.identity_keys); None: its kind's default."""
    return Source.objects.create(name=name or f"src-{next(_seq)}", kind=kind, identity_keys=identity_keys)


def ingest(src: Source, messages: list[dict], *, process: bool = True) -> int:
    result = events_ingest(source=src, messages=messages)
    assert not result.rejected, result.rejected
    if process and result.batch_id:
        batch_process(batch_id=result.batch_id)
    return result.batch_id


def profile_of(type_: str, value: str) -> Profile:
    return Identifier.objects.select_related("profile").get(type=type_, value=value).profile


def partition() -> set[frozenset[tuple[str, str]]]:
    groups: dict[int, set] = {}
    for t, v, pid in Identifier.objects.values_list("type", "value", "profile_id"):
        groups.setdefault(pid, set()).add((t, v))
    return {frozenset(g) for g in groups.values()}


def event_profile(message_id: str) -> int | None:
    return RawEvent.objects.filter(message_id=message_id).values_list("profile_links__profile_id", flat=True).get()


def dangling_links() -> list[str]:
    """Identifiers and events pointing at a profile that does not exist or was merged away, and merge or refusal
    records naming a profile that does not exist (there is no database constraint on these links: identity
    resolution alone keeps them right)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT 'identifier ' || i.type || ':' || i.value FROM cdp_identifier i
              LEFT JOIN cdp_profile p ON p.id = i.profile_id WHERE p.id IS NULL OR p.merged_into_id IS NOT NULL
            UNION ALL
            SELECT 'event ' || l.event_id FROM cdp_eventprofile l
              LEFT JOIN cdp_profile p ON p.id = l.profile_id WHERE p.id IS NULL OR p.merged_into_id IS NOT NULL
            UNION ALL
            SELECT 'link without event ' || l.event_id FROM cdp_eventprofile l
             WHERE NOT EXISTS (SELECT 1 FROM cdp_rawevent e WHERE e.id = l.event_id AND e.received_at = l.received_at)
            UNION ALL
            SELECT 'merge ' || m.id FROM cdp_profilemerge m
             WHERE NOT EXISTS (SELECT 1 FROM cdp_profile p WHERE p.id = m.survivor_id)
                OR NOT EXISTS (SELECT 1 FROM cdp_profile p WHERE p.id = m.merged_id)
            UNION ALL
            SELECT 'refusal ' || r.id FROM cdp_refusedmerge r
             WHERE NOT EXISTS (SELECT 1 FROM cdp_profile p WHERE p.id = r.profile_id)
                OR (r.other_profile_id IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM cdp_profile p WHERE p.id = r.other_profile_id))
            """
        )
        return [row[0] for row in cur.fetchall()]
