"""A normalised rule in words: "Performed Page Viewed where path is /pricing at least 3 times in the last 7
days and has a deal in stage Negotiation". Plain text (templates escape it)."""

from __future__ import annotations

import datetime as dt

from crm.selectors.segment_sources import names_for
from segments.rules import operators as o


def _value(v) -> str:
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M") if (v.hour or v.minute) else v.strftime("%Y-%m-%d")
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v)
    return f"“{v}”" if isinstance(v, str) else str(v)


def _cmp(cmp: dict) -> str:
    op, v = cmp["op"], cmp["value"]
    label = o.OPERATORS.get(cmp.get("value_type", o.STRING), {}).get(op, op)
    if op in o.NO_VALUE:
        return label
    if op in o.DAYS_VALUE:
        return f"{label} {v} days"
    if op == "between":
        return f"between {_value(v[0])} and {_value(v[1])}"
    return f"{label} {_value(v)}"


def _which(w: dict) -> str:
    text = w.get("event") or f"any {w.get('event_type')} event"
    if w.get("event") and w.get("event_type"):
        text += f" ({w['event_type']})"
    if w.get("where"):
        text += " where " + " and ".join(f"{f['property']} {_cmp(f)}" for f in w["where"])
    return text


def _window(w: dict) -> str:
    if w["kind"] == "last_days":
        return f" in the last {w['days']} days"
    if w["kind"] == "between":
        return f" between {_value(w['from'])} and {_value(w['to'])}"
    return ""


def _count(c: dict) -> str:
    return f"{o.COUNT_OPS[c['op']]} {c['value']} time{'s' if c['value'] != 1 else ''}"


def rule_in_words(norm: dict, *, segment_names: dict[int, str] | None = None) -> str:
    ids = {"stage": set(), "pipeline": set(), "user": set()}
    _collect(norm, ids)
    names = names_for(stage_ids=ids["stage"], pipeline_ids=ids["pipeline"], user_ids=ids["user"])
    text = _node(norm, names, segment_names or {}, top=True)
    return text[:1].upper() + text[1:] if text else text


def _collect(node: dict, ids: dict) -> None:
    if node["type"] in o.GROUP_TYPES:
        for c in node["conditions"]:
            _collect(c, ids)
    elif node["type"] == "deal":
        for f in node["where"]:
            if f["field"] in ("stage", "pipeline"):
                vals = f["value"] if isinstance(f["value"], list) else [f["value"]]
                ids[f["field"]].update(int(v) for v in vals)
    elif node["type"] == "contact" and node["field"] == "owner" and node["value"] is not None:
        vals = node["value"] if isinstance(node["value"], list) else [node["value"]]
        ids["user"].update(int(v) for v in vals)


def _node(node: dict, names: dict, segs: dict, top: bool = False) -> str:
    t = node["type"]
    if t in o.GROUP_TYPES:
        parts = [_node(c, names, segs) for c in node["conditions"]]
        if not parts:
            return "everyone" if t != "any" else "no one"
        if t == "all":
            body = " and ".join(parts)
        elif t == "any":
            body = " or ".join(parts)
        else:
            return "none of (" + "; ".join(parts) + ")"
        return body if top or len(parts) == 1 else f"({body})"
    if t == "trait":
        where = {"profile": "trait", "computed": "computed trait", "account": "account trait"}[node["source"]]
        return f"{where} {node['key']} {_cmp(node)}"
    if t == "event":
        c = node["count"]
        if c["op"] == "exactly" and c["value"] == 0:
            return f"did not perform {_which(node)}{_window(node['window'])}"
        return f"performed {_which(node)} {_count(c)}{_window(node['window'])}"
    if t == "event_time":
        return f"{node['which']} performed {_which(node)} {_cmp({**node, 'value_type': o.DATE})}"
    if t == "sequence":
        then = "then" if node["then_performed"] else "then did not perform"
        text = f"performed {_which(node['first'])}{_window(node['window'])}, {then} {_which(node['then'])} within " \
               f"{node['within_days']} days"
        if node["not_between"]:
            text += f" without {_which(node['not_between'])} in between"
        return text
    if t == "contact":
        if node["field"] == "owner" and node["value"] is not None:
            vals = node["value"] if isinstance(node["value"], list) else [node["value"]]
            who = ", ".join(names["user"].get(int(v), f"user {v}") for v in vals)
            return f"contact owner {o.OPERATORS[o.STRING].get(node['op'], node['op'])} {who}"
        label = {"lifecycle_stage": "lifecycle stage", "tags": "contact tags", "owner": "contact owner"}.get(
            node["field"], f"contact field {node.get('key')}")
        return f"{label} {_cmp(node)}"
    if t == "company":
        if not node["where"]:
            return "has a company"
        return "has a company where " + " and ".join(
            f"{f.get('key') or f['field']} {_cmp(f)}" for f in node["where"])
    if t == "deal":
        parts = []
        for f in node["where"]:
            if f["field"] in ("stage", "pipeline"):
                vals = f["value"] if isinstance(f["value"], list) else [f["value"]]
                shown = ", ".join(names[f["field"]].get(int(v), f"#{v}") for v in vals)
                neg = "not " if f["op"] in ("not_equals", "not_in") else ""
                parts.append(f"{neg}in {f['field']} {shown}")
            else:
                parts.append(f"{f['field'].replace('_', ' ')} {_cmp(f)}")
        return ("has a deal" if node["has"] else "has no deal") + (" " + " and ".join(parts) if parts else "")
    if t == "tickets":
        status = "" if node["status"] == "any" else f"{node['status']} "
        prio = f"{'/'.join(node['priority'])} " if node["priority"] else ""
        c = node["count"]
        return f"has {o.COUNT_OPS[c['op']]} {c['value']} {status}{prio}ticket{'s' if c['value'] != 1 else ''}"
    if t == "segment":
        name = segs.get(node["segment"], f"segment #{node['segment']}")
        return f"{'is' if node['member'] else 'is not'} in segment “{name}”"
    if t == "score":
        name = segs.get(("score", node["model"]), f"score model #{node['model']}")
        return f"{name} score {_cmp({**node, 'value_type': o.NUMBER})}"
    return t
