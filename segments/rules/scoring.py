"""Lead scoring in the rule language: validating a score model's conditions and compiling a whole model into
one parameterised SQL query (the same compiler as segments: each condition is the boolean expression the
segment compiler makes of it, over the same per-profile aggregate joins).

The query returns, for every surviving profile (or only ``profile_ids``), its linked CRM contact, the points of
each condition (numeric[], in the model's order) and the score (their sum, at most ``cap``):

- a condition gives its points when it holds, else 0;
- with decay (``half_life_days``), an ``event`` condition whose count asks for at least / exactly N >= 1 events
  gives ``points * least(1, d / N)`` when it holds, where ``d`` is the decayed count of its matching events:
  each counts ``0.5 ^ (age_in_days / half_life_days)`` (age from ``now``, never below 0) instead of 1. So N
  fresh events give all the points, older ones fade, and many old ones can add up. Other conditions (traits,
  CRM facts, "at most" counts, groups) are not about the age of events and give their points in full.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from cdp.selectors.segment_sources import cdp_tables
from crm.selectors.segment_sources import crm_tables
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


def _decayed_event(st: c._State, node: dict, cdp, half_life_days: Decimal) -> tuple[str, str]:
    """(holds, factor) of an event condition with decay: one aggregate join giving both the count and the
    decayed count of the matching events."""
    frm, terms, ts = c._event_source(st, node, cdp, "e", "ep")
    terms += c._window_terms(st, node["window"], ts)
    terms += c._restrict(st, f"ep.{cdp.event_profile_profile}")
    pid = f"ep.{cdp.event_profile_profile}"
    seconds = st.p(float(half_life_days) * 86400.0, "::float8")
    age = f"GREATEST(0, extract(epoch FROM ({st.p(st.now)}::timestamptz - {ts})))"
    alias = c._join_aggregate(st, f"{pid} AS profile_id, count(*) AS n, sum(power(0.5, {age} / {seconds})) AS d",
                              frm, terms, pid, lambda a: f"{a}.profile_id = p.{cdp.profile_id}", "ev")
    holds = c._count_test(st, f"COALESCE({alias}.n, 0)", node["count"])
    need = st.p(node["count"]["value"], "::float8")
    return f"COALESCE({holds}, FALSE)", f"LEAST(1.0, COALESCE({alias}.d, 0) / {need})"


def compile_scores(conditions: list[dict], *, now: dt.datetime, profile_ids: list[int] | None = None,
                   half_life_days: Decimal | None = None, cap: Decimal | None = None) -> c.Compiled:
    """SQL selecting ``id``, ``contact_id``, ``points`` (numeric[] per condition) and ``score`` for each
    surviving profile (only among ``profile_ids`` if given). ``conditions`` come from
    ``validate_score_conditions``; segment references inside them must have been checked by the caller."""
    st = c._State(now=now, profile_ids=list(profile_ids) if profile_ids is not None else None)
    cdp, crm = cdp_tables(), crm_tables()
    columns = []
    for item in conditions:
        norm = item["condition"]
        points = st.p(item["points"], "::numeric")
        if score_condition_decays(norm, half_life_days):
            holds, factor = _decayed_event(st, norm, cdp, half_life_days)
            columns.append(f"CASE WHEN {holds} THEN round(({points} * {factor})::numeric, 2) ELSE 0 END")
        else:
            holds = c._expr(st, {"type": "all", "conditions": [norm]}, cdp, crm)
            columns.append(f"CASE WHEN {holds} THEN {points} ELSE 0 END")
    sql = [f"SELECT p.{cdp.profile_id} AS id, p.{cdp.profile_crm_contact} AS contact_id,"
           f" ARRAY[{', '.join(columns)}]::numeric[] AS points FROM {cdp.profile} p"]
    if st.need_account:
        sql.append(f"LEFT JOIN {cdp.account} a ON a.{cdp.account_id} = p.{cdp.profile_account}")
    if st.need_contact or st.need_company:
        sql.append(f"LEFT JOIN {crm.contact} c ON c.{crm.contact_id} = p.{cdp.profile_crm_contact}")
    if st.need_company:
        sql.append(f"LEFT JOIN {crm.company} co ON co.{crm.company_id} = c.{crm.contact_company}")
    sql.extend(st.joins)
    sql.append(f"WHERE p.{cdp.profile_merged_into} IS NULL")
    if st.profile_ids is not None:
        sql.append(f"AND p.{cdp.profile_id} = ANY({c._ids(st)})")
    total = "(SELECT sum(x) FROM unnest(r.points) x)"
    if cap is not None:
        total = f"LEAST({total}, {st.p(cap, '::numeric')})"
    outer = (f"SELECT r.id, r.contact_id, r.points, {total} AS score,"
             f" EXISTS (SELECT 1 FROM unnest(r.points) x WHERE x <> 0) AS scored FROM ({chr(10).join(sql)}) r")
    return c.Compiled(sql=outer, params=st.params)
