"""Lead scoring in the rule language: validating a score model's conditions and compiling a whole model into
one parameterised SQL query (the same compiler as segments: each condition is the boolean expression the
segment compiler makes of it, over the same per-profile aggregate joins).

The query returns, for every surviving profile (or only ``profile_ids``) that gets points, its linked CRM contact,
the points of each condition (a jsonb array, in the model's order) and the score (their sum, at most ``cap``):

- a condition gives its points when it holds, else 0;
- with decay (``half_life_days``), an ``event`` condition whose count asks for at least / exactly N >= 1 events
  gives ``points * least(1, d / N)`` when it holds, where ``d`` is the decayed count of its matching events:
  each counts ``0.5 ^ (age_in_days / half_life_days)`` (age from ``now``, never below 0) instead of 1. So N
  fresh events give all the points, older ones fade, and many old ones can add up. Other conditions (traits,
  CRM facts, "at most" counts, groups) are not about the age of events and give their points in full.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from cdp.selectors.segment_sources import cdp_tables
from segments.rules import compiler as c
from segments.rules import operators as o
from segments.rules.validation import RuleError, validate_rule

MAX_CONDITIONS = 50
MAX_POINTS = Decimal("100000")


def validate_score_conditions(conditions: Any) -> list[dict]:
    """The normalised conditions of a score model: ``[{"label", "points" (Decimal), "condition" (normalised
    tree)}]``; raises RuleError naming each offending item (``conditions[2].points``,
    ``conditions[0].condition.where[0].op``...). A score condition may not use another score (no cycles)."""
    errors: list[dict[str, str]] = []
    if not isinstance(conditions, list) or not conditions or len(conditions) > MAX_CONDITIONS:
        raise RuleError([{"path": "conditions", "message": f"Give 1 to {MAX_CONDITIONS} conditions."}])
    out = []
    for i, item in enumerate(conditions):
        path = f"conditions[{i}]"
        if not isinstance(item, dict):
            errors.append({"path": path, "message": "A scoring condition is {\"label\", \"points\", \"condition\"}."})
            continue
        label = item.get("label", "")
        if not isinstance(label, str) or len(label) > 120:
            errors.append({"path": f"{path}.label", "message": "A label of at most 120 characters."})
            label = ""
        points = _points(item.get("points"))
        if points is None:
            errors.append({"path": f"{path}.points", "message": f"Points: a number from -{MAX_POINTS} to "
                                                                f"{MAX_POINTS}, at most 2 decimals."})
        cond = item.get("condition")
        norm = None
        if not isinstance(cond, dict):
            errors.append({"path": f"{path}.condition", "message": "Give a condition of the rule language."})
        else:
            try:
                norm = validate_rule({"type": "all", "conditions": [cond]})["conditions"][0]
            except RuleError as exc:
                errors.extend({"path": f"{path}.condition{e['path'][len('conditions[0]'):]}",
                               "message": e["message"]} for e in exc.errors)
            if norm is not None and _uses_score(norm):
                errors.append({"path": f"{path}.condition", "message": "A score cannot depend on a score."})
        if points is not None and norm is not None:
            out.append({"label": label.strip(), "points": points, "condition": norm})
    if errors:
        raise RuleError(errors)
    return out


def _points(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    if not number.is_finite() or abs(number) > MAX_POINTS or number != number.quantize(Decimal("0.01")):
        return None
    return number


def _uses_score(norm: dict) -> bool:
    if norm["type"] in o.GROUP_TYPES:
        return any(_uses_score(child) for child in norm["conditions"])
    return norm["type"] == "score"


def score_condition_decays(norm: dict, half_life_days: Decimal | None) -> bool:
    """Whether decay applies to this (normalised) condition (see the module docstring)."""
    return (half_life_days is not None and norm["type"] == "event" and norm["count"]["op"] in ("at_least", "exactly")
            and norm["count"]["value"] >= 1)


def compile_scores(conditions: list[dict], *, now: dt.datetime, profile_ids: list[int] | None = None,
                   half_life_days: Decimal | None = None, cap: Decimal | None = None) -> c.Compiled:
    """SQL selecting ``id``, ``contact_id``, ``points`` (jsonb array, one number per condition) and ``score`` of
    each surviving profile that gets points from at least one condition (only among ``profile_ids`` if given).
    ``conditions`` come from ``validate_score_conditions``; segment references inside them must have been
    checked by the caller. Top-level event conditions are counted (and decayed) together: one pass over the
    profile links of the events named, whatever the number of conditions."""
    query = c.ProfileQuery(now=now, profile_ids=profile_ids)
    cdp = cdp_tables()
    events = [i for i, item in enumerate(conditions) if item["condition"]["type"] == "event"]
    decays = [score_condition_decays(conditions[i]["condition"], half_life_days) for i in events]
    tallies: dict[int, tuple[str, str | None]] = {}
    if events:
        weight = None
        if half_life_days is not None:
            # 0.5 ^ (age / half-life) = exp(-age_seconds * ln 2 / half-life seconds), age never below 0; float8
            # throughout (extract() and power() on numeric are many times slower over millions of events).
            rate = query.param(math.log(2) / (float(half_life_days) * 86400.0), "::float8")
            epoch = query.param(now.timestamp(), "::float8")
            weight = lambda ts: f"exp(LEAST(0, date_part('epoch', {ts}) - {epoch}) * {rate})"  # noqa: E731
        found = query.event_tallies([conditions[i]["condition"] for i in events], weight, decays)
        tallies = dict(zip(events, found, strict=True))
    columns = []
    for i, item in enumerate(conditions):
        norm = item["condition"]
        points = query.param(item["points"], "::numeric")
        if i in tallies:
            count, decayed = tallies[i]
            holds = query.count_test(count, norm["count"])
            if decayed is not None:
                need = query.param(norm["count"]["value"], "::float8")
                factor = f"LEAST(1.0, {decayed} / {need})"
                columns.append(f"CASE WHEN {holds} THEN round(({points} * {factor})::numeric, 2) ELSE 0 END")
            else:
                columns.append(f"CASE WHEN {holds} THEN {points} ELSE 0 END")
        else:
            columns.append(f"CASE WHEN {query.condition(norm)} THEN {points} ELSE 0 END")
    names = [f"x{i}" for i in range(len(columns))]
    inner = query.compiled([f"p.{cdp.profile_id} AS id", f"p.{cdp.profile_crm_contact} AS contact_id",
                            *(f"{col} AS {name}" for col, name in zip(columns, names, strict=True))])
    total = " + ".join(names)
    if cap is not None:
        total = f"LEAST({total}, {query.param(cap, '::numeric')})"
    # OFFSET 0 keeps the per-condition columns computed once per profile (flattened, the outer filter and
    # projection would each evaluate every CASE again).
    sql = (f"SELECT r.id, r.contact_id, jsonb_build_array({', '.join(names)}) AS points, {total} AS score"
           f" FROM ({inner.sql} OFFSET 0) r WHERE {' OR '.join(f'{n} <> 0' for n in names)}")
    return c.Compiled(sql=sql, params=inner.params)
