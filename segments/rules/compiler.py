"""The one compiler: a normalised rule tree → one parameterised SQL query returning the ids of matching
(surviving) profiles.

Every value, trait key and property name is a bound parameter (``%(pN)s``); identifiers in the SQL come only
from the models' ``_meta`` through cdp's and crm's public ``segment_sources`` selectors. Conditions over many
rows (events, deals, tickets, memberships) become LEFT JOINs of per-profile aggregates, so the planner runs them
as hash joins over whole tables for a full refresh and as index lookups when the query is restricted to a few
profiles (``profile_ids``: the real-time check); every condition evaluates to true or false, never NULL, so
``none`` groups (NOT) behave. The same compiled query serves the builder preview, the API, full refresh and the
real-time check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cdp.selectors.segment_sources import cdp_tables
from crm.selectors.segment_sources import TICKET_OPEN_EXCLUDED, crm_tables
from segments.rules import operators as o


@dataclass
class Compiled:
    """``sql`` selects one column ``id`` (profile ids); ``params`` is a dict for its ``%(name)s`` placeholders."""

    sql: str
    params: dict[str, Any]


@dataclass
class _State:
    now: dt.datetime
    profile_ids: list[int] | None
    params: dict[str, Any] = field(default_factory=dict)
    joins: list[str] = field(default_factory=list)
    need_account: bool = False
    need_contact: bool = False
    need_company: bool = False
    # The leaf being compiled is ANDed directly into the WHERE (a child of the top "all" group): a join that only
    # keeps rows for which it is true may be an inner join, which lets the planner start from its few rows.
    top_level: bool = False

    def p(self, value: Any, cast: str = "") -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s{cast}"

    def alias(self, prefix: str) -> str:
        return f"{prefix}{len(self.joins)}"


class ProfileQuery:
    """One query over the surviving profiles (alias ``p``) into which several conditions are compiled: the
    public face of the compiler for compilations other than a segment's (lead scoring). ``condition`` gives a
    condition's boolean SQL (never NULL), ``event_tallies`` per-profile counts (and weighted sums) of the events
    conditions describe, ``param`` binds a value; ``compiled`` assembles the query. Conditions and the query
    share the parameters and the per-profile aggregate joins, so everything runs in one statement."""

    def __init__(self, *, now: dt.datetime, profile_ids: list[int] | None = None) -> None:
        self._st = _State(now=now, profile_ids=list(profile_ids) if profile_ids is not None else None)
        self._cdp, self._crm = cdp_tables(), crm_tables()

    @property
    def now(self) -> dt.datetime:
        return self._st.now

    def param(self, value: Any, cast: str = "") -> str:
        """A placeholder bound to ``value`` (with an optional SQL cast such as ``::numeric``)."""
        return self._st.p(value, cast)

    def condition(self, norm: dict, *, top: bool = False) -> str:
        """SQL of a normalised condition or group: true or false, never NULL. ``top``: it will be ANDed directly
        into the WHERE (lets required aggregates join as inner joins); leave it false for a column."""
        return _expr(self._st, norm, self._cdp, self._crm, top=top)

    def count_test(self, expr: str, count: dict) -> str:
        """SQL testing ``expr`` against an event condition's ``count`` (``{"op", "value"}``)."""
        return _count_test(self._st, expr, count)

    def event_tallies(self, nodes: list[dict], weight: Callable[[str], str] | None = None,
                      weighted: list[bool] | None = None) -> list[tuple[str, str | None]]:
        """For each ``event`` condition of ``nodes``: SQL of the number of its matching events (in its window) of
        the profile ``p`` and, where ``weighted[i]``, the sum of ``weight(<event time SQL>)`` over them (a float
        expression; NULL-free: 0 without events). Conditions picking events by name alone share one pass over
        the profile links of those names (FILTER per condition); the others each join their own aggregate over
        the events."""
        weighted = weighted if weighted is not None else [weight is not None] * len(nodes)
        st, cdp = self._st, self._cdp
        out: list[tuple[str, str | None] | None] = [None] * len(nodes)
        by_name = [i for i, node in enumerate(nodes) if _by_name(node)]
        if by_name:
            link, pid, ts = "ep", f"ep.{cdp.event_profile_profile}", f"ep.{cdp.event_profile_timestamp}"
            names = sorted({nodes[i]["event"] for i in by_name})
            selects = [f"{pid} AS profile_id"]
            for i in by_name:
                test = " AND ".join([f"ep.{cdp.event_profile_name} = {st.p(nodes[i]['event'])}",
                                     *_window_terms(st, nodes[i]["window"], ts)])
                selects.append(f"count(*) FILTER (WHERE {test}) AS n{i}")
                if weighted[i]:
                    selects.append(f"sum({weight(ts)}) FILTER (WHERE {test}) AS w{i}")
            terms = [f"ep.{cdp.event_profile_name} = ANY({st.p(names, '::text[]')})"]
            terms += _restrict(st, pid)
            alias = _join_aggregate(st, ", ".join(selects), f"{cdp.event_profile} {link}", terms, pid,
                                    lambda a: f"{a}.profile_id = p.{cdp.profile_id}", "ev")
            for i in by_name:
                out[i] = (f"COALESCE({alias}.n{i}, 0)", f"COALESCE({alias}.w{i}, 0)" if weighted[i] else None)
        for i, node in enumerate(nodes):
            if out[i] is not None:
                continue
            frm, terms, ts = _event_source(st, node, cdp, "e", "ep")
            terms += _window_terms(st, node["window"], ts)
            pid = f"ep.{cdp.event_profile_profile}"
            terms += _restrict(st, pid)
            select = f"{pid} AS profile_id, count(*) AS n" + (f", sum({weight(ts)}) AS w" if weighted[i] else "")
            alias = _join_aggregate(st, select, frm, terms, pid, lambda a: f"{a}.profile_id = p.{cdp.profile_id}",
                                    "ev")
            out[i] = (f"COALESCE({alias}.n, 0)", f"COALESCE({alias}.w, 0)" if weighted[i] else None)
        return out  # type: ignore[return-value]

    def compiled(self, columns: list[str], where: str | None = None) -> Compiled:
        """``SELECT <columns> FROM`` the surviving profiles (only ``profile_ids`` if given) with every join the
        conditions need, ``AND (where)`` if given. The profile's columns are ``p.<name>`` (see cdp_tables)."""
        st, cdp, crm = self._st, self._cdp, self._crm
        sql = [f"SELECT {', '.join(columns)} FROM {cdp.profile} p"]
        if st.need_account:
            sql.append(f"LEFT JOIN {cdp.account} a ON a.{cdp.account_id} = p.{cdp.profile_account}")
        if st.need_contact or st.need_company:
            sql.append(f"LEFT JOIN {crm.contact} c ON c.{crm.contact_id} = p.{cdp.profile_crm_contact}")
        if st.need_company:
            sql.append(f"LEFT JOIN {crm.company} co ON co.{crm.company_id} = c.{crm.contact_company}")
        sql.extend(st.joins)
        sql.append(f"WHERE p.{cdp.profile_merged_into} IS NULL")
        if st.profile_ids is not None:
            sql.append(f"AND p.{cdp.profile_id} = ANY({_ids(st)})")
        if where is not None:
            sql.append(f"AND ({where})")
        return Compiled(sql="\n".join(sql), params=st.params)


def compile_rule(norm: dict, *, now: dt.datetime, profile_ids: list[int] | None = None) -> Compiled:
    """SQL selecting the ids of surviving profiles matching ``norm`` at ``now`` (only among ``profile_ids`` if
    given). ``norm`` comes from ``validate_rule``; segment references must have been checked by the caller."""
    query = ProfileQuery(now=now, profile_ids=profile_ids)
    where = query.condition(norm, top=True)
    return query.compiled([f"p.{cdp_tables().profile_id} AS id"], where)


def _ids(st: _State) -> str:
    if "ids" not in st.params:
        st.params["ids"] = st.profile_ids
    return "%(ids)s::bigint[]"


def _expr(st: _State, node: dict, cdp, crm, top: bool = False) -> str:
    kind = node["type"]
    if kind in o.GROUP_TYPES:
        parts = [_expr(st, child, cdp, crm, top=top and kind == "all") for child in node["conditions"]]
        if kind == "all":
            return " AND ".join(f"({x})" for x in parts) if parts else "TRUE"
        joined = " OR ".join(f"({x})" for x in parts) if parts else "FALSE"
        return joined if kind == "any" else f"NOT ({joined})"
    st.top_level = top
    try:
        return f"COALESCE({_LEAVES[kind](st, node, cdp, crm)}, FALSE)"
    finally:
        st.top_level = False


# --- typed comparisons ----------------------------------------------------------------------------------------

def _json_typed(json_expr: str, value_type: str) -> str:
    if value_type == o.NUMBER:
        return f"segments_num({json_expr})"
    if value_type == o.DATE:
        return f"segments_ts({json_expr})"
    if value_type == o.BOOLEAN:
        return json_expr
    return f"({json_expr} #>> '{{}}')"


def _compare(st: _State, expr: str, cmp: dict) -> str:
    """SQL of ``expr <op> value`` for a typed expression (text, numeric, timestamptz; jsonb for booleans)."""
    op, value, vt = cmp["op"], cmp["value"], cmp["value_type"]
    if op == "is_set":
        return f"jsonb_typeof({expr}) = 'boolean'" if vt == o.BOOLEAN else f"{expr} IS NOT NULL"
    if op == "not_set":
        return f"jsonb_typeof({expr}) IS DISTINCT FROM 'boolean'" if vt == o.BOOLEAN else f"{expr} IS NULL"
    if op == "is_true":
        return f"{expr} = 'true'::jsonb"
    if op == "is_false":
        return f"{expr} = 'false'::jsonb"
    if op == "within_last_days":
        return f"({expr} >= {st.p(st.now - dt.timedelta(days=value))} AND {expr} <= {st.p(st.now)})"
    if op == "within_next_days":
        return f"({expr} >= {st.p(st.now)} AND {expr} <= {st.p(st.now + dt.timedelta(days=value))})"
    if op == "between":
        if vt == o.DATE:
            return f"({expr} >= {st.p(value[0])} AND {expr} < {st.p(value[1])})"
        return f"({expr} BETWEEN {st.p(value[0])} AND {st.p(value[1])})"
    simple = {"equals": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "before": "<", "after": ">"}
    if op in simple:
        return f"{expr} {simple[op]} {st.p(value)}"
    if op == "not_equals":
        return f"{expr} IS DISTINCT FROM {st.p(value)}"
    if op == "contains":
        return f"strpos(lower({expr}), lower({st.p(value)})) > 0"
    if op == "not_contains":
        return f"NOT COALESCE(strpos(lower({expr}), lower({st.p(value)})) > 0, FALSE)"
    if op == "starts_with":
        return f"starts_with(lower({expr}), lower({st.p(value)}))"
    if op == "in":
        return f"{expr} = ANY({st.p(value, '::text[]')})"
    if op == "not_in":
        return f"NOT COALESCE({expr} = ANY({st.p(value, '::text[]')}), FALSE)"
    raise ValueError(f"unknown operator {op}")  # validation makes this unreachable


def _tags_compare(st: _State, column: str, cmp: dict) -> str:
    op, value = cmp["op"], cmp["value"]
    if op == "contains":
        return f"{st.p(value)}::varchar = ANY({column})"
    if op == "not_contains":
        return f"NOT COALESCE({st.p(value)}::varchar = ANY({column}), FALSE)"
    if op == "in":
        return f"{column} && {st.p(value, '::varchar[]')}"
    if op == "not_in":
        return f"NOT COALESCE({column} && {st.p(value, '::varchar[]')}, FALSE)"
    if op == "is_set":
        return f"cardinality({column}) > 0"
    return f"COALESCE(cardinality({column}), 0) = 0"


# --- leaves --------------------------------------------------------------------------------------------------

def _trait(st: _State, node: dict, cdp, crm) -> str:
    if node["source"] == "account":
        st.need_account = True
        column = f"a.{cdp.account_traits}"
    else:
        column = f"p.{cdp.profile_computed if node['source'] == 'computed' else cdp.profile_traits}"
    return _compare(st, _json_typed(f"({column} -> {st.p(node['key'])})", node["value_type"]), node)


def _by_name(which: dict) -> bool:
    """The events are picked by name alone (no type, no property filter)."""
    return which.get("event") is not None and which.get("event_type") is None and not which.get("where")


def _event_source(st: _State, which: dict, cdp, ev: str, ep: str) -> tuple[str, list[str], str]:
    """FROM clause and WHERE terms selecting the events ``which`` describes, with their profile, and the SQL of
    their time. Events picked by name alone are read from the profile links (name, time, profile: the
    (event_name, timestamp) index) without the wide event rows; a type or property filter joins the events."""
    if _by_name(which):
        return (f"{cdp.event_profile} {ep}", [f"{ep}.{cdp.event_profile_name} = {st.p(which['event'])}"],
                f"{ep}.{cdp.event_profile_timestamp}")
    frm, terms = _events_from(st, which, cdp, ev, ep)
    return frm, terms, f"{ev}.{cdp.event_timestamp}"


def _events_from(st: _State, which: dict, cdp, ev: str, ep: str) -> tuple[str, list[str]]:
    """FROM clause (events ``ev`` joined to their profile links ``ep``) and WHERE terms selecting the events
    ``which`` describes."""
    frm = (f"{cdp.event} {ev} JOIN {cdp.event_profile} {ep} ON {ep}.{cdp.event_profile_event} = {ev}.{cdp.event_id}"
           f" AND {ep}.{cdp.event_profile_received_at} = {ev}.{cdp.event_received_at}")
    terms = []
    if which.get("event") is not None:
        terms.append(f"{ev}.{cdp.event_name} = {st.p(which['event'])}")
        terms.append(f"{ep}.{cdp.event_profile_name} = {st.p(which['event'])}")  # the index narrows the join
    if which.get("event_type") is not None:
        terms.append(f"{ev}.{cdp.event_type} = {st.p(which['event_type'])}")
    for f in which.get("where", []):
        accessor = f"({ev}.{cdp.event_payload} #> {st.p(f['path'], '::text[]')})"
        terms.append(f"COALESCE({_compare(st, _json_typed(accessor, f['value_type']), f)}, FALSE)")
    return frm, terms


def _window_terms(st: _State, window: dict, column: str) -> list[str]:
    if window["kind"] == "last_days":
        return [f"{column} >= {st.p(st.now - dt.timedelta(days=window['days']))}", f"{column} <= {st.p(st.now)}"]
    if window["kind"] == "between":
        return [f"{column} >= {st.p(window['from'])}", f"{column} < {st.p(window['to'])}"]
    return []


def _restrict(st: _State, column: str) -> list[str]:
    return [f"{column} = ANY({_ids(st)})"] if st.profile_ids is not None else []


def _join_aggregate(st: _State, select: str, frm: str, terms: list[str], group: str, on: str, prefix: str,
                    having: str = "", required: bool = False) -> str:
    """Join a per-profile (or per-contact) aggregate; ``required``: the condition is false without a row, so at
    the top level the join may drop such profiles (an inner join)."""
    alias = st.alias(prefix)
    where = f" WHERE {' AND '.join(terms)}" if terms else ""
    having = f" HAVING {having}" if having else ""
    join = "JOIN" if required and st.top_level else "LEFT JOIN"
    st.joins.append(f"{join} (SELECT {select} FROM {frm}{where} GROUP BY {group}{having}) {alias} ON {on(alias)}")
    return alias


def _count_having(st: _State, count: dict) -> str:
    """A HAVING that drops the groups failing a count test that a missing group (count 0) fails too, so the
    join carries only the profiles that can match (much smaller hash tables on big event tables)."""
    if count["op"] in ("at_least", "exactly") and count["value"] >= 1:
        return _count_test(st, "count(*)", count)
    return ""


def _count_test(st: _State, expr: str, count: dict) -> str:
    return f"{expr} {({'at_least': '>=', 'at_most': '<=', 'exactly': '='})[count['op']]} {st.p(count['value'])}"


def _event(st: _State, node: dict, cdp, crm) -> str:
    frm, terms, ts = _event_source(st, node, cdp, "e", "ep")
    terms += _window_terms(st, node["window"], ts)
    terms += _restrict(st, f"ep.{cdp.event_profile_profile}")
    pid = f"ep.{cdp.event_profile_profile}"
    having = _count_having(st, node["count"])
    alias = _join_aggregate(st, f"{pid} AS profile_id, count(*) AS n", frm, terms, pid,
                            lambda a: f"{a}.profile_id = p.{cdp.profile_id}", "ev", having, required=bool(having))
    return _count_test(st, f"COALESCE({alias}.n, 0)", node["count"])


def _event_time(st: _State, node: dict, cdp, crm) -> str:
    frm, terms, ts = _event_source(st, node, cdp, "e", "ep")
    terms += _restrict(st, f"ep.{cdp.event_profile_profile}")
    pid = f"ep.{cdp.event_profile_profile}"
    agg = "min" if node["which"] == "first" else "max"
    alias = _join_aggregate(st, f"{pid} AS profile_id, {agg}({ts}) AS at", frm, terms, pid,
                            lambda a: f"{a}.profile_id = p.{cdp.profile_id}", "et")
    return _compare(st, f"{alias}.at", {"value_type": o.DATE, "op": node["op"], "value": node["value"]})


def _sequence(st: _State, node: dict, cdp, crm) -> str:
    frm, terms, a_ts = _event_source(st, node["first"], cdp, "ea", "pa")
    terms += _window_terms(st, node["window"], a_ts)
    terms += _restrict(st, f"pa.{cdp.event_profile_profile}")
    span = st.p(dt.timedelta(days=node["within_days"]))
    b_frm, b_terms, b_ts = _event_source(st, node["then"], cdp, "eb", "pb")
    b_terms += [f"pb.{cdp.event_profile_profile} = pa.{cdp.event_profile_profile}", f"{b_ts} > {a_ts}",
                f"{b_ts} <= {a_ts} + {span}"]
    if node["not_between"] is not None:
        c_frm, c_terms, c_ts = _event_source(st, node["not_between"], cdp, "ec", "pc")
        c_terms += [f"pc.{cdp.event_profile_profile} = pa.{cdp.event_profile_profile}", f"{c_ts} > {a_ts}",
                    f"{c_ts} < {b_ts}"]
        b_terms.append(f"NOT EXISTS (SELECT 1 FROM {c_frm} WHERE {' AND '.join(c_terms)})")
    exists = f"EXISTS (SELECT 1 FROM {b_frm} WHERE {' AND '.join(b_terms)})"
    if node["then_performed"]:
        terms.append(exists)
    else:
        # "then no B within N days" is only known once the N days have passed.
        terms += [f"NOT {exists}", f"{a_ts} + {span} <= {st.p(st.now)}"]
    pid = f"pa.{cdp.event_profile_profile}"
    alias = _join_aggregate(st, f"{pid} AS profile_id", frm, terms, pid,
                            lambda a: f"{a}.profile_id = p.{cdp.profile_id}", "sq")
    return f"{alias}.profile_id IS NOT NULL"


def _contact(st: _State, node: dict, cdp, crm) -> str:
    st.need_contact = True
    field_ = node["field"]
    if field_ == "tags":
        return _tags_compare(st, f"c.{crm.contact_tags}", node)
    if field_ == "custom":
        accessor = f"(c.{crm.contact_custom} -> {st.p(node['key'])})"
        return _compare(st, _json_typed(accessor, node["value_type"]), node)
    if field_ == "owner":
        column = f"c.{crm.contact_owner}"
        if node["op"] in ("in", "not_in"):
            test = f"{column} = ANY({st.p([int(v) for v in node['value']], '::bigint[]')})"
            return test if node["op"] == "in" else f"NOT COALESCE({test}, FALSE)"
        return _compare(st, column, {**node, "value": int(node["value"]) if node["value"] is not None else None})
    return _compare(st, f"c.{crm.contact_lifecycle}", node)


def _company(st: _State, node: dict, cdp, crm) -> str:
    st.need_company = True
    terms = [f"co.{crm.company_id} IS NOT NULL"]
    for f in node["where"]:
        if f["field"] == "tags":
            terms.append(f"COALESCE({_tags_compare(st, f'co.{crm.company_tags}', f)}, FALSE)")
        elif f["field"] == "custom":
            accessor = f"(co.{crm.company_custom} -> {st.p(f['key'])})"
            terms.append(f"COALESCE({_compare(st, _json_typed(accessor, f['value_type']), f)}, FALSE)")
        else:
            terms.append(f"COALESCE({_compare(st, f'co.{crm.company_fields[f['field']]}', f)}, FALSE)")
    return " AND ".join(terms)


def _contacts_of_candidates(st: _State, cdp, column: str) -> list[str]:
    if st.profile_ids is None:
        return []
    return [f"{column} IN (SELECT {cdp.profile_crm_contact} FROM {cdp.profile} WHERE {cdp.profile_id} = "
            f"ANY({_ids(st)}) AND {cdp.profile_crm_contact} IS NOT NULL)"]


def _deal(st: _State, node: dict, cdp, crm) -> str:
    columns = {"pipeline": crm.deal_pipeline, "stage": crm.deal_stage, "status": crm.deal_status,
               "amount": crm.deal_amount, "close_date": crm.deal_close_date}
    terms = []
    for f in node["where"]:
        column = f"d.{columns[f['field']]}"
        if f["field"] in ("pipeline", "stage"):
            values = f["value"] if isinstance(f["value"], list) else [f["value"]]
            test = f"{column} = ANY({st.p([int(v) for v in values], '::bigint[]')})"
            terms.append(test if f["op"] in ("equals", "in") else f"NOT COALESCE({test}, FALSE)")
        else:
            terms.append(f"COALESCE({_compare(st, column, f)}, FALSE)")
    contact = f"dc.{crm.deal_contacts_contact}"
    terms += _contacts_of_candidates(st, cdp, contact)
    frm = f"{crm.deal_contacts} dc JOIN {crm.deal} d ON d.{crm.deal_id} = dc.{crm.deal_contacts_deal}"
    alias = _join_aggregate(st, f"{contact} AS contact_id", frm, terms, contact,
                            lambda a: f"{a}.contact_id = p.{cdp.profile_crm_contact}", "dl", required=node["has"])
    return f"{alias}.contact_id IS {'NOT ' if node['has'] else ''}NULL"


def _tickets(st: _State, node: dict, cdp, crm) -> str:
    if crm.ticket is None:  # no tickets in this CRM yet: everyone has none
        return _count_test(st, "0", node["count"])
    t = crm.ticket
    terms = []
    if node["status"] == "open":
        terms.append(f"NOT (tk.{t.status} = ANY({st.p(list(TICKET_OPEN_EXCLUDED), '::text[]')}))")
    elif node["status"] != "any":
        terms.append(f"tk.{t.status} = {st.p(node['status'])}")
    if node["priority"]:
        terms.append(f"tk.{t.priority} = ANY({st.p(node['priority'], '::text[]')})")
    requester = f"tk.{t.requester}"
    terms += _contacts_of_candidates(st, cdp, requester)
    alias = _join_aggregate(st, f"{requester} AS contact_id, count(*) AS n", f"{t.table} tk", terms, requester,
                            lambda a: f"{a}.contact_id = p.{cdp.profile_crm_contact}", "tk")
    return _count_test(st, f"COALESCE({alias}.n, 0)", node["count"])


def _segment(st: _State, node: dict, cdp, crm) -> str:
    from segments.models import Membership  # noqa: PLC0415 - our own table

    alias = st.alias("sg")
    table = Membership._meta.db_table
    st.joins.append(f"LEFT JOIN {table} {alias} ON {alias}.segment_id = {st.p(node['segment'])} AND "
                    f"{alias}.profile_id = p.{cdp.profile_id} AND {alias}.exited_at IS NULL")
    return f"{alias}.id IS {'NOT ' if node['member'] else ''}NULL"


def _score(st: _State, node: dict, cdp, crm) -> str:
    """A lead score threshold; a profile without a stored score has 0 (see segments.models.ProfileScore)."""
    from segments.models import ProfileScore  # noqa: PLC0415 - our own table

    alias = st.alias("sc")
    st.joins.append(f"LEFT JOIN {ProfileScore._meta.db_table} {alias} ON {alias}.model_id = {st.p(node['model'])} "
                    f"AND {alias}.profile_id = p.{cdp.profile_id}")
    return _compare(st, f"COALESCE({alias}.score, 0)", {"value_type": o.NUMBER, "op": node["op"],
                                                         "value": node["value"]})


_LEAVES = {"trait": _trait, "event": _event, "event_time": _event_time, "sequence": _sequence,
           "contact": _contact, "company": _company, "deal": _deal, "tickets": _tickets, "segment": _segment,
           "score": _score}
