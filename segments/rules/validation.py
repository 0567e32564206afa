"""Validation of a rule tree: every node checked, every problem reported with the path of its node.

``validate_rule(tree)`` returns the normalised tree the compiler and the words take (values parsed: numbers as
Decimal, dates as aware datetimes, day counts as int) or raises RuleError listing ``{"path", "message"}`` for
each offending node, e.g. ``conditions[1].where[0].op``. Segment references are checked against the database
(exists, no cycle) by ``segments.services.definitions``; here only their shape.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from segments.rules import operators as o

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RuleError(ValueError):
    """The rule is invalid; ``errors`` lists ``{"path": ..., "message": ...}`` (path "" is the root)."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['path'] or 'rule'}: {e['message']}" for e in errors))


class _Checker:
    def __init__(self):
        self.errors: list[dict[str, str]] = []
        self.nodes = 0

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})


def _join(path: str, part: str) -> str:
    if part.startswith("["):
        return f"{path}{part}"
    return f"{path}.{part}" if path else part


def validate_rule(tree: Any) -> dict:
    """The normalised tree of ``tree``; raises RuleError naming every offending node."""
    checker = _Checker()
    if not isinstance(tree, dict) or tree.get("type") not in o.GROUP_TYPES:
        checker.error("", "The rule must be a group: {\"type\": \"all\" | \"any\" | \"none\", \"conditions\": [...]}.")
        raise RuleError(checker.errors)
    norm = _node(checker, tree, "", 0)
    if checker.errors:
        raise RuleError(checker.errors)
    return norm


def _node(c: _Checker, node: Any, path: str, depth: int) -> dict | None:
    c.nodes += 1
    if c.nodes > o.MAX_NODES:
        if c.nodes == o.MAX_NODES + 1:
            c.error(path, f"A rule may have at most {o.MAX_NODES} conditions.")
        return None
    if not isinstance(node, dict):
        c.error(path, "A condition must be an object.")
        return None
    kind = node.get("type")
    handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if kind in o.GROUP_TYPES:
        return _group(c, node, path, depth)
    if handler is None:
        c.error(_join(path, "type"), f"Unknown condition type {kind!r}.")
        return None
    return handler(c, node, path)


def _group(c: _Checker, node: dict, path: str, depth: int) -> dict | None:
    if depth >= o.MAX_DEPTH:
        c.error(path, f"Groups may be nested at most {o.MAX_DEPTH} deep.")
        return None
    items = node.get("conditions")
    if not isinstance(items, list):
        c.error(_join(path, "conditions"), "A group needs a list of conditions.")
        return None
    out = [_node(c, item, _join(path, f"conditions[{i}]"), depth + 1) for i, item in enumerate(items)]
    return {"type": node["type"], "conditions": out}


# --- values -------------------------------------------------------------------------------------------------

def _text(c: _Checker, value: Any, path: str, *, max_len: int = 500, blank: bool = False) -> str | None:
    """A text value; ``blank`` allows the empty string (a compared value, unlike a name or key)."""
    if not isinstance(value, str) or (not blank and not value.strip()):
        c.error(path, "Enter a text value.")
        return None
    if len(value) > max_len or "\x00" in value:
        c.error(path, f"At most {max_len} characters, no NUL.")
        return None
    return value


def _number(c: _Checker, value: Any, path: str) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        c.error(path, "Enter a number.")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        c.error(path, "Enter a number.")
        return None
    if not number.is_finite() or abs(number) >= Decimal("1e15"):
        c.error(path, "Enter a finite number below 10^15.")
        return None
    return number


def _int(c: _Checker, value: Any, path: str, *, minimum: int = 0, maximum: int = o.MAX_DAYS) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        c.error(path, f"Enter a whole number from {minimum} to {maximum}.")
        return None
    return value


def _date(c: _Checker, value: Any, path: str) -> tuple[dt.datetime, bool] | None:
    """(aware datetime, date_only)."""
    if isinstance(value, str) and _DATE_ONLY.match(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            c.error(path, "Enter a valid date (YYYY-MM-DD).")
            return None
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), True
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)), False
    c.error(path, "Enter a date (YYYY-MM-DD) or an ISO date-time.")
    return None


def _compare(c: _Checker, node: dict, path: str, value_type: str) -> dict | None:
    """Normalise ``op``/``value`` of a typed comparison: {"value_type", "op", "value"}."""
    op = node.get("op")
    if value_type not in o.OPERATORS:
        c.error(_join(path, "value_type"), f"Unknown value type {value_type!r}; use one of {', '.join(o.VALUE_TYPES)}.")
        return None
    if op not in o.OPERATORS[value_type]:
        c.error(_join(path, "op"), f"Operator {op!r} is not valid for a {value_type} value; use one of "
                f"{', '.join(o.OPERATORS[value_type])}.")
        return None
    vpath = _join(path, "value")
    raw = node.get("value")
    value: Any = None
    if op in o.NO_VALUE:
        value = None
    elif op in o.DAYS_VALUE:
        value = _int(c, raw, vpath, minimum=1)
        if value is None:
            return None
    elif op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            c.error(vpath, "Enter two values: [from, to].")
            return None
        if value_type == o.NUMBER:
            low, high = _number(c, raw[0], _join(vpath, "[0]")), _number(c, raw[1], _join(vpath, "[1]"))
            if low is None or high is None:
                return None
            if low > high:
                c.error(vpath, "The first value must not be greater than the second.")
                return None
            value = [low, high]
        else:
            low, high = _date(c, raw[0], _join(vpath, "[0]")), _date(c, raw[1], _join(vpath, "[1]"))
            if low is None or high is None:
                return None
            end = high[0] + dt.timedelta(days=1) if high[1] else high[0]
            if low[0] >= end:
                c.error(vpath, "The start must be before the end.")
                return None
            value = [low[0], end]  # from inclusive, to exclusive (a date-only end includes its whole day)
    elif op in o.LIST_VALUE:
        if not isinstance(raw, list) or not raw or len(raw) > 500:
            c.error(vpath, "Enter a list of 1 to 500 values.")
            return None
        items = [_text(c, v if isinstance(v, str) else str(v) if isinstance(v, int | float) and not isinstance(
            v, bool) else v, _join(vpath, f"[{i}]"), blank=True) for i, v in enumerate(raw)]
        if None in items:
            return None
        value = items
    elif value_type == o.NUMBER:
        value = _number(c, raw, vpath)
        if value is None:
            return None
    elif value_type == o.DATE:
        parsed = _date(c, raw, vpath)
        if parsed is None:
            return None
        moment, date_only = parsed
        if op == "after" and date_only:
            moment = moment + dt.timedelta(days=1) - dt.timedelta(microseconds=1)
        value = moment
    else:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)
        value = _text(c, raw, vpath, blank=True)
        if value is None:
            return None
    return {"value_type": value_type, "op": op, "value": value}


# --- conditions ----------------------------------------------------------------------------------------------

def _trait(c: _Checker, node: dict, path: str) -> dict | None:
    source = node.get("source", "profile")
    if source not in o.TRAIT_SOURCES:
        c.error(_join(path, "source"), f"Unknown trait source {source!r}; use profile, computed or account.")
        return None
    key = _text(c, node.get("key"), _join(path, "key"), max_len=200)
    cmp = _compare(c, node, path, node.get("value_type", o.STRING))
    if key is None or cmp is None:
        return None
    return {"type": "trait", "source": source, "key": key, **cmp}


def _event_filter(c: _Checker, node: dict, path: str) -> dict | None:
    """Which events: name and/or type, property filters."""
    name = node.get("event")
    etype = node.get("event_type")
    out: dict[str, Any] = {"event": None, "event_type": None, "where": []}
    if name is not None:
        out["event"] = _text(c, name, _join(path, "event"), max_len=200)
    if etype is not None:
        if etype not in o.EVENT_TYPES:
            c.error(_join(path, "event_type"), f"Unknown event type {etype!r}; use one of {', '.join(o.EVENT_TYPES)}.")
        out["event_type"] = etype
    if name is None and etype is None:
        c.error(_join(path, "event"), "Name the event (or at least its type).")
    where = node.get("where", [])
    if not isinstance(where, list) or len(where) > 20:
        c.error(_join(path, "where"), "Property filters must be a list of at most 20.")
        return None
    for i, f in enumerate(where):
        fpath = _join(path, f"where[{i}]")
        if not isinstance(f, dict):
            c.error(fpath, "A property filter must be an object.")
            continue
        prop = _text(c, f.get("property"), _join(fpath, "property"), max_len=200)
        cmp = _compare(c, f, fpath, f.get("value_type", o.STRING))
        if prop is not None and cmp is not None:
            out["where"].append({"property": prop, "path": ["properties", *prop.split(".")], **cmp})
    return out


def _window(c: _Checker, raw: Any, path: str) -> dict | None:
    if raw is None or raw == {"kind": "ever"}:
        return {"kind": "ever"}
    if not isinstance(raw, dict):
        c.error(path, "A window is {\"kind\": \"last_days\", \"days\": N}, {\"kind\": \"between\", \"from\": ..., "
                "\"to\": ...} or {\"kind\": \"ever\"}.")
        return None
    kind = raw.get("kind")
    if kind == "last_days":
        days = _int(c, raw.get("days"), _join(path, "days"), minimum=1)
        return None if days is None else {"kind": "last_days", "days": days}
    if kind == "between":
        low, high = _date(c, raw.get("from"), _join(path, "from")), _date(c, raw.get("to"), _join(path, "to"))
        if low is None or high is None:
            return None
        end = high[0] + dt.timedelta(days=1) if high[1] else high[0]
        if low[0] >= end:
            c.error(path, "The window must start before it ends.")
            return None
        return {"kind": "between", "from": low[0], "to": end}
    c.error(_join(path, "kind"), f"Unknown window {kind!r}; use last_days, between or ever.")
    return None


def _count(c: _Checker, raw: Any, path: str) -> dict | None:
    if raw is None:
        return {"op": "at_least", "value": 1}
    if not isinstance(raw, dict) or raw.get("op") not in o.COUNT_OPS:
        c.error(_join(path, "op"), "Count must be at_least, at_most or exactly N.")
        return None
    value = _int(c, raw.get("value"), _join(path, "value"), minimum=0, maximum=1_000_000)
    return None if value is None else {"op": raw["op"], "value": value}


def _event(c: _Checker, node: dict, path: str) -> dict | None:
    which = _event_filter(c, node, path)
    count = _count(c, node.get("count"), _join(path, "count"))
    window = _window(c, node.get("window"), _join(path, "window"))
    if which is None or count is None or window is None:
        return None
    return {"type": "event", **which, "count": count, "window": window}


def _event_time(c: _Checker, node: dict, path: str) -> dict | None:
    which = _event_filter(c, node, path)
    first = node.get("which")
    if first not in ("first", "last"):
        c.error(_join(path, "which"), "Use first or last.")
        return None
    cmp = _compare(c, node, path, o.DATE)
    if cmp is not None and cmp["op"] in ("is_set", "not_set"):
        c.error(_join(path, "op"), "Use before, after, within_last_days or between (or an event count).")
        return None
    if which is None or cmp is None:
        return None
    return {"type": "event_time", **which, "which": first, "op": cmp["op"], "value": cmp["value"]}


def _sequence(c: _Checker, node: dict, path: str) -> dict | None:
    steps = {}
    for name in ("first", "then", "not_between"):
        raw = node.get(name)
        if raw is None and name == "not_between":
            steps[name] = None
            continue
        if not isinstance(raw, dict):
            c.error(_join(path, name), "Describe the event: {\"event\": ..., \"where\": [...]}.")
            return None
        steps[name] = _event_filter(c, raw, _join(path, name))
    days = _int(c, node.get("within_days"), _join(path, "within_days"), minimum=1)
    performed = node.get("then_performed", True)
    if not isinstance(performed, bool):
        c.error(_join(path, "then_performed"), "true (then did B) or false (then did not do B).")
        return None
    if not performed and steps["not_between"] is not None:
        c.error(_join(path, "not_between"), "\"not in between\" applies only when the second event was performed.")
        return None
    window = _window(c, node.get("window"), _join(path, "window"))
    if None in (steps["first"], steps["then"], days, window) or (
            node.get("not_between") is not None and steps["not_between"] is None):
        return None
    return {"type": "sequence", "first": steps["first"], "then": steps["then"], "not_between": steps["not_between"],
            "within_days": days, "then_performed": performed, "window": window}


def _custom(c: _Checker, node: dict, path: str) -> dict | None:
    key = _text(c, node.get("key"), _join(path, "key"), max_len=100)
    cmp = _compare(c, node, path, node.get("value_type", o.STRING))
    return None if key is None or cmp is None else {"field": "custom", "key": key, **cmp}


def _tags(c: _Checker, node: dict, path: str) -> dict | None:
    op = node.get("op")
    if op not in ("contains", "not_contains", "in", "not_in", "is_set", "not_set"):
        c.error(_join(path, "op"), "Tags: use contains, not_contains, in, not_in, is_set or not_set.")
        return None
    return {"field": "tags", **(_compare(c, node, path, o.STRING) or {"op": None})}


def _contact(c: _Checker, node: dict, path: str) -> dict | None:
    field = node.get("field")
    if field not in o.CONTACT_FIELDS:
        c.error(_join(path, "field"), f"Unknown contact field {field!r}; use {', '.join(o.CONTACT_FIELDS)}.")
        return None
    if field == "custom":
        out = _custom(c, node, path)
    elif field == "tags":
        out = _tags(c, node, path)
    elif field == "owner":
        if node.get("op") not in ("equals", "not_equals", "in", "not_in", "is_set", "not_set"):
            c.error(_join(path, "op"), "Owner: use equals, not_equals, in, not_in, is_set or not_set.")
            return None
        cmp = _compare(c, node, path, o.NUMBER if node.get("op") in ("equals", "not_equals") else o.STRING)
        if cmp is not None and cmp["op"] in o.LIST_VALUE and not all(v.isdigit() for v in cmp["value"]):
            c.error(_join(path, "value"), "Owners are user ids.")
            return None
        out = None if cmp is None else {"field": "owner", **cmp}
    else:
        if node.get("op") not in ("equals", "not_equals", "in", "not_in"):
            c.error(_join(path, "op"), "Lifecycle stage: use equals, not_equals, in or not_in.")
            return None
        cmp = _compare(c, node, path, o.STRING)
        out = None if cmp is None else {"field": field, **cmp}
    if out is None or out.get("op") is None:
        return None
    return {"type": "contact", **out}


def _deal(c: _Checker, node: dict, path: str) -> dict | None:
    has = node.get("has", True)
    if not isinstance(has, bool):
        c.error(_join(path, "has"), "true (has such a deal) or false (has none).")
        return None
    where = node.get("where", [])
    if not isinstance(where, list) or len(where) > 10:
        c.error(_join(path, "where"), "Deal filters must be a list of at most 10.")
        return None
    out = []
    for i, f in enumerate(where):
        fpath = _join(path, f"where[{i}]")
        field = f.get("field") if isinstance(f, dict) else None
        if field not in o.DEAL_FIELDS:
            c.error(_join(fpath, "field"), f"Unknown deal field {field!r}; use {', '.join(o.DEAL_FIELDS)}.")
            continue
        if field in ("pipeline", "stage", "status"):
            if f.get("op") not in ("equals", "in", "not_equals", "not_in"):
                c.error(_join(fpath, "op"), f"{field}: use equals, not_equals, in or not_in.")
                continue
            cmp = _compare(c, f, fpath, o.STRING)
            if cmp is None:
                continue
            values = cmp["value"] if isinstance(cmp["value"], list) else [cmp["value"]]
            if field != "status" and not all(v.isdigit() for v in values):
                c.error(_join(fpath, "value"), f"{field}: enter ids.")
                continue
            if field == "status" and not set(values) <= {"open", "won", "lost"}:
                c.error(_join(fpath, "value"), "Status is open, won or lost.")
                continue
            out.append({"field": field, **cmp})
        else:
            cmp = _compare(c, f, fpath, o.DEAL_FIELDS[field])
            if cmp is not None:
                out.append({"field": field, **cmp})
    if len(out) != len(where):
        return None
    return {"type": "deal", "has": has, "where": out}


def _company(c: _Checker, node: dict, path: str) -> dict | None:
    where = node.get("where", [])
    if not isinstance(where, list) or len(where) > 10:
        c.error(_join(path, "where"), "Company filters must be a list of at most 10.")
        return None
    out = []
    from crm.selectors.segment_sources import COMPANY_TEXT_FIELDS  # noqa: PLC0415 - crm's public names

    for i, f in enumerate(where):
        fpath = _join(path, f"where[{i}]")
        field = f.get("field") if isinstance(f, dict) else None
        if field == "custom":
            item = _custom(c, f, fpath)
        elif field == "tags":
            item = _tags(c, f, fpath)
        elif field in COMPANY_TEXT_FIELDS:
            cmp = _compare(c, f, fpath, o.STRING)
            item = None if cmp is None else {"field": field, **cmp}
        else:
            c.error(_join(fpath, "field"), f"Unknown company field {field!r}.")
            continue
        if item is not None and item.get("op") is not None:
            out.append(item)
    if len(out) != len(where):
        return None
    return {"type": "company", "where": out}


def _tickets(c: _Checker, node: dict, path: str) -> dict | None:
    status = node.get("status", "open")
    if status not in o.TICKET_STATUSES:
        c.error(_join(path, "status"), f"Unknown ticket status {status!r}; use {', '.join(o.TICKET_STATUSES)}.")
        return None
    priority = node.get("priority", [])
    if isinstance(priority, str):
        priority = [priority]
    if not isinstance(priority, list) or not set(priority) <= set(o.TICKET_PRIORITIES):
        c.error(_join(path, "priority"), f"Priorities are {', '.join(o.TICKET_PRIORITIES)}.")
        return None
    count = _count(c, node.get("count"), _join(path, "count"))
    if count is None:
        return None
    return {"type": "tickets", "status": status, "priority": sorted(set(priority)), "count": count}


def _segment(c: _Checker, node: dict, path: str) -> dict | None:
    ref = node.get("segment")
    if isinstance(ref, bool) or not isinstance(ref, int) or ref <= 0:
        c.error(_join(path, "segment"), "Choose a segment (its id).")
        return None
    member = node.get("member", True)
    if not isinstance(member, bool):
        c.error(_join(path, "member"), "true (is a member) or false (is not).")
        return None
    return {"type": "segment", "segment": ref, "member": member}


def _score(c: _Checker, node: dict, path: str) -> dict | None:
    """A lead score threshold: the profile's score under score model ``model`` (0 when it has none)."""
    ref = node.get("model")
    if isinstance(ref, bool) or not isinstance(ref, int) or ref <= 0:
        c.error(_join(path, "model"), "Choose a score model (its id).")
        return None
    if node.get("op") not in o.SCORE_OPS:
        c.error(_join(path, "op"), f"Score: use {', '.join(o.SCORE_OPS)}.")
        return None
    cmp = _compare(c, node, path, o.NUMBER)
    return None if cmp is None else {"type": "score", "model": ref, "op": cmp["op"], "value": cmp["value"]}


_HANDLERS = {
    "trait": _trait, "event": _event, "event_time": _event_time, "sequence": _sequence, "contact": _contact,
    "deal": _deal, "company": _company, "tickets": _tickets, "segment": _segment, "score": _score,
}


def referenced_score_models(norm: dict) -> set[int]:
    """Ids of the score models a normalised tree refers to (score threshold conditions)."""
    found: set[int] = set()
    stack = [norm]
    while stack:
        node = stack.pop()
        if node.get("type") in o.GROUP_TYPES:
            stack.extend(node["conditions"])
        elif node.get("type") == "score":
            found.add(node["model"])
    return found


def referenced_segments(norm: dict) -> set[int]:
    """Ids of the segments a normalised tree refers to."""
    found: set[int] = set()
    stack = [norm]
    while stack:
        node = stack.pop()
        if node.get("type") in o.GROUP_TYPES:
            stack.extend(node["conditions"])
        elif node.get("type") == "segment":
            found.add(node["segment"])
    return found


def uses_time(norm: dict) -> bool:
    """Whether the rule's truth can change with the passing of time alone (windows relative to now)."""
    stack = [norm]
    while stack:
        node = stack.pop()
        t = node.get("type")
        if t in o.GROUP_TYPES:
            stack.extend(node["conditions"])
        elif t in ("event", "sequence") and (node["window"]["kind"] == "last_days" or (
                t == "sequence" and not node["then_performed"])):
            return True
        elif node.get("op") in o.DAYS_VALUE or any(f.get("op") in o.DAYS_VALUE for f in node.get("where", [])):
            return True
        elif t == "score":  # scores change on their own schedule (decay, full rescoring): sweep such segments
            return True
    return False
