"""Computed traits: mergeable per-profile partial aggregates, updated per batch and fully recomputable.

State per trait key is ``{"b": {bucket: partial}}``; the bucket is the event's UTC day for windowed traits and
``"all"`` otherwise. Partials combine by addition/min/max, so a merge of two profiles folds their states, and
the value is a fold of the buckets inside the window as of now.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cdp.models import ComputedTrait, Profile
from cdp.services.traits import time_key

MAX_VALUES = 200


def definitions_enabled() -> list[ComputedTrait]:
    return list(ComputedTrait.objects.filter(enabled=True))


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def event_name(message_type: str, payload: dict[str, Any]) -> str:
    if message_type == "track":
        return str(payload.get("event") or "")
    if message_type in ("page", "screen"):
        return str(payload.get("name") or "")
    return ""


def _property_source(payload: dict[str, Any]) -> dict[str, Any]:
    props = payload.get("properties")
    if isinstance(props, dict):
        return props
    traits = payload.get("traits")
    return traits if isinstance(traits, dict) else {}


def matches(defn: ComputedTrait, message_type: str, payload: dict[str, Any]) -> bool:
    if defn.event_type and defn.event_type != message_type:
        return False
    if defn.event_name and defn.event_name != event_name(message_type, payload):
        return False
    props = _property_source(payload)
    for path, expected in (defn.filters or {}).items():
        if _dig(props, path) != expected:
            return False
    return True


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value.strip()))
        except (InvalidOperation, ValueError):
            return None
    return None


def _label(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value[:200]
    return json.dumps(value, sort_keys=True)[:200]


def state_add(defn: ComputedTrait, state: dict, message_type: str, payload: dict[str, Any],
              at: datetime | str) -> bool:
    """Fold one event into ``state`` (the trait's own state dict). False when the event does not count.

    ``at`` is the event time, or its ``time_key`` (UTC text, as identity resolution already holds it: no
    datetime arithmetic per event and definition)."""
    if not matches(defn, message_type, payload):
        return False
    if type(at) is not str:
        at = time_key(at)
    bucket = at[:10] if defn.window_days else "all"
    part = state.setdefault("b", {}).setdefault(bucket, {})
    agg = defn.aggregate
    if agg == "count":
        part["n"] = part.get("n", 0) + 1
    elif agg in ("first_time", "last_time"):
        t = at
        part["f"] = min(part.get("f", t), t)
        part["l"] = max(part.get("l", t), t)
    else:
        raw = _dig(_property_source(payload), defn.property)
        if agg in ("sum", "avg", "min", "max"):
            num = _number(raw)
            if num is None:
                return False
            part["s"] = part.get("s", 0.0) + num
            part["n"] = part.get("n", 0) + 1
            part["mn"] = min(part.get("mn", num), num)
            part["mx"] = max(part.get("mx", num), num)
        else:
            label = _label(raw)
            if label is None:
                return False
            values = part.setdefault("v", {})
            if label in values or len(values) < MAX_VALUES:
                values[label] = values.get(label, 0) + 1
    return True


def _merge_part(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        if k in ("n", "s"):
            out[k] = out.get(k, 0) + v
        elif k in ("mn", "f"):
            out[k] = min(out.get(k, v), v)
        elif k in ("mx", "l"):
            out[k] = max(out.get(k, v), v)
        elif k == "v":
            merged = dict(out.get("v", {}))
            for label, n in v.items():
                if label in merged or len(merged) < MAX_VALUES:
                    merged[label] = merged.get(label, 0) + n
            out["v"] = merged
    return out


def state_merge(a: dict, b: dict) -> dict:
    """The state of two profiles' events together (each trait key separately)."""
    out = {k: {"b": dict(v.get("b", {}))} for k, v in a.items()}
    for key, st in b.items():
        buckets = out.setdefault(key, {"b": {}})["b"]
        for bucket, part in st.get("b", {}).items():
            buckets[bucket] = _merge_part(buckets[bucket], part) if bucket in buckets else dict(part)
    return out


_SINCE: dict[tuple[int, datetime], str] = {}


def _window_start(window_days: int, now: datetime) -> str:
    """The first day (ISO date) of a window of ``window_days`` ending ``now``; memoised (asked per profile)."""
    key = (window_days, now)
    since = _SINCE.get(key)
    if since is None:
        if len(_SINCE) > 1000:
            _SINCE.clear()
        since = _SINCE[key] = (now.astimezone(UTC) - timedelta(days=window_days - 1)).date().isoformat()
    return since


def state_value(defn: ComputedTrait, state: dict | None, *, now: datetime) -> Any:
    buckets = (state or {}).get("b", {})
    if defn.window_days:
        since = _window_start(defn.window_days, now)
        parts = [p for b, p in buckets.items() if b >= since]
    else:
        parts = list(buckets.values())
    total: dict = {}
    for p in parts:
        total = _merge_part(total, p)
    agg = defn.aggregate
    if agg == "count":
        return total.get("n", 0)
    if agg == "sum":
        return round(total.get("s", 0.0), 6)
    if agg == "avg":
        return round(total["s"] / total["n"], 6) if total.get("n") else None
    if agg == "min":
        return total.get("mn")
    if agg == "max":
        return total.get("mx")
    if agg == "first_time":
        return _iso(total.get("f"))
    if agg == "last_time":
        return _iso(total.get("l"))
    values = total.get("v", {})
    if agg == "most_frequent":
        return min(values.items(), key=lambda kv: (-kv[1], kv[0]))[0] if values else None
    if agg == "unique_list":
        return sorted(values)
    if agg == "unique_count":
        return len(values)
    return None


def _iso(key: str | None) -> str | None:
    if not key:
        return None
    # fromisoformat (C) reads the fixed-width UTC key ("...T12:00:00.000000Z") ten times faster than strptime.
    return datetime.fromisoformat(key).isoformat()


def state_prune(defn: ComputedTrait, state: dict, *, now: datetime) -> None:
    if defn.window_days and "b" in state:
        since = _window_start(defn.window_days, now)
        state["b"] = {b: p for b, p in state["b"].items() if b >= since}


def values_for(defns: Iterable[ComputedTrait], state: dict, *, now: datetime) -> dict[str, Any]:
    return {d.key: state_value(d, state.get(d.key), now=now) for d in defns}


def computed_traits_recompute_all() -> int:
    """Rebuild every enabled computed trait (refreshes windows as days pass); returns the profiles updated."""
    return sum(computed_trait_recompute(trait_id=trait.pk) for trait in definitions_enabled())


def computed_trait_recompute(*, trait_id: int, chunk: int = 5000) -> int:
    """Rebuild one computed trait for every profile from its events. Returns the number of profiles updated.

    Reads events in profile order and writes states and values in chunks; each chunk is its own transaction
    holding the profile rows it rewrites.
    """
    defn = ComputedTrait.objects.get(pk=trait_id)
    now = timezone.now()
    updated = 0
    last_id = 0
    while True:
        with transaction.atomic():
            ids = list(Profile.objects.filter(pk__gt=last_id, merged_into__isnull=True).order_by("pk")
                       .values_list("pk", flat=True)[:chunk])
            if not ids:
                break
            last_id = ids[-1]
            states: dict[int, dict] = {pid: {} for pid in ids}
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT p.profile_id, e.type, e.payload, e.timestamp FROM cdp_eventprofile p "
                    "JOIN cdp_rawevent e ON e.id = p.event_id AND e.received_at = p.received_at "
                    "WHERE p.profile_id = ANY(%s)",
                    [ids],
                )
                for pid, mtype, payload, at in cur.fetchall():
                    if isinstance(payload, str):
                        payload = json.loads(payload)
                    state_add(defn, states[pid], mtype, payload, at)
                rows = [{"id": pid, "state": st, "value": state_value(defn, st, now=now)}
                        for pid, st in states.items()]
                cur.execute(
                    """
                    UPDATE cdp_profile p
                       SET computed_state = jsonb_set(p.computed_state, ARRAY[%s], v.state),
                           computed = jsonb_set(p.computed, ARRAY[%s], coalesce(v.value, 'null'::jsonb))
                      FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, state jsonb, value jsonb)
                     WHERE p.id = v.id
                    """,
                    [defn.key, defn.key, json.dumps(rows)],
                )
                updated += cur.rowcount
    ComputedTrait.objects.filter(pk=defn.pk).update(recomputed_at=now)
    return updated


def computed_trait_forget(*, key: str) -> None:
    """Remove a deleted trait's values and states from every profile."""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cdp_profile SET computed = computed - %s, computed_state = computed_state - %s "
            "WHERE computed ? %s OR computed_state ? %s",
            [key, key, key, key],
        )
