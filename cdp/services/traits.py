"""Traits merged per trait by event time: a value only replaces one set by an event at the same time or earlier."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The same in Postgres's to_char(), for a timestamp at time zone UTC.
PG_TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
# Traits that are identifiers or bookkeeping, never stored as traits.
SKIPPED = frozenset()


def time_key(at: datetime) -> str:
    """A sortable string for an aware datetime (UTC, fixed width, the ``TIME_FORMAT``), stored in
    ``trait_times``. ``isoformat`` is the cheap way to it (this runs for every event)."""
    if at.utcoffset():
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def traits_apply(traits: dict[str, Any], times: dict[str, str], new: dict[str, Any], at: str) -> bool:
    """Set each trait of ``new`` unless the profile holds a value from a later event. True if anything changed."""
    changed = False
    for key, value in new.items():
        if key in SKIPPED:
            continue
        if times.get(key, "") <= at:
            if traits.get(key, object()) != value or times.get(key) != at:
                traits[key] = value
                times[key] = at
                changed = True
    return changed


def traits_merge(traits: dict[str, Any], times: dict[str, str], other: dict[str, Any],
                 other_times: dict[str, str]) -> None:
    """Fold another profile's traits into ``traits``: per trait, the value set by the later event wins
    (ties keep the survivor's value)."""
    for key, value in other.items():
        their = other_times.get(key, "")
        if key not in traits or times.get(key, "") < their:
            traits[key] = value
            times[key] = their


def message_traits(message_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Traits a message sets on its person: those of identify calls (CRM fields arrive as identify traits)."""
    if message_type != "identify":
        return None
    traits = _root_or_context_traits(payload)
    return traits or None


def group_traits(payload: dict[str, Any]) -> dict[str, Any]:
    return _root_or_context_traits(payload)


def _root_or_context_traits(payload: dict[str, Any]) -> dict[str, Any]:
    """The traits of an identify or group call: at the root (Segment's SDKs) or, when there are none there, in
    context.traits (RudderStack's SDKs put them only there)."""
    traits = payload.get("traits")
    if isinstance(traits, dict) and traits:
        return traits
    context = payload.get("context")
    traits = context.get("traits") if isinstance(context, dict) else None
    return traits if isinstance(traits, dict) else {}
