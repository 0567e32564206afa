"""Validation errors name their node; window and operator edges; hostile keys and values stay data."""

from __future__ import annotations

import datetime as dt

import pytest

from cdp.models import EventProfile, IngestBatch, Profile, RawEvent, Source
from segments.models import Segment
from segments.rules import RuleError, validate_rule
from segments.selectors.evaluation import rule_profile_ids, rule_sql
from segments.services.definitions import rule_check

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def errors(tree) -> dict[str, str]:
    with pytest.raises(RuleError) as info:
        validate_rule(tree)
    return {e["path"]: e["message"] for e in info.value.errors}


def test_errors_name_the_offending_node():
    found = errors({"type": "all", "conditions": [
        {"type": "trait", "key": "plan", "op": "equals", "value": "pro"},
        {"type": "any", "conditions": [
            {"type": "trait", "key": "age", "value_type": "number", "op": "contains", "value": "1"},
            {"type": "event", "event": "Order Completed", "window": {"kind": "last_days", "days": 0}},
            {"type": "event", "event": "Viewed", "where": [{"property": "price", "value_type": "number",
                                                            "op": "gt", "value": "cheap"}]},
        ]},
        {"type": "telepathy"},
        {"type": "deal", "where": [{"field": "colour", "op": "equals", "value": "red"}]},
    ]})
    assert set(found) == {"conditions[1].conditions[0].op", "conditions[1].conditions[1].window.days",
                          "conditions[1].conditions[2].where[0].value", "conditions[2].type",
                          "conditions[3].where[0].field"}
    assert "not valid for a number" in found["conditions[1].conditions[0].op"]


@pytest.mark.parametrize("tree", [None, [], "all", {"type": "trait"}, {"type": "all"}])
def test_the_root_must_be_a_group(tree):
    assert errors(tree)


def test_depth_and_size_are_bounded():
    deep = {"type": "all", "conditions": []}
    for _ in range(20):
        deep = {"type": "all", "conditions": [deep]}
    assert any("nested" in m for m in errors(deep).values())
    wide = {"type": "any", "conditions": [{"type": "trait", "key": "k", "op": "is_set"}] * 300}
    assert any("at most" in m for m in errors(wide).values())


@pytest.mark.django_db
def test_cycles_and_unknown_segments_are_refused():
    a = Segment.objects.create(name="A", definition={"type": "all", "conditions": []})
    b = Segment.objects.create(name="B", depends_on=[a.pk])
    rule = {"type": "all", "conditions": [{"type": "segment", "segment": b.pk}, {"type": "segment", "segment": 999999}]}
    with pytest.raises(RuleError) as info:
        rule_check(rule, segment_id=a.pk)
    paths = {e["path"]: e["message"] for e in info.value.errors}
    assert "cycle" in paths["conditions[0].segment"]
    assert "does not exist" in paths["conditions[1].segment"]
    with pytest.raises(RuleError):
        rule_check({"type": "all", "conditions": [{"type": "segment", "segment": a.pk}]}, segment_id=a.pk)
    assert rule_check({"type": "all", "conditions": [{"type": "segment", "segment": b.pk}]}, segment_id=None)


def _profile(**traits) -> int:
    return Profile.objects.create(traits=traits).pk


def _events(pid: int, *items: tuple[str, dt.datetime, dict]) -> None:
    src = Source.objects.get_or_create(name="edges", kind="server")[0]
    batch = IngestBatch.objects.create(source=src, received_at=NOW)
    for i, (name, ts, props) in enumerate(items):
        raw = RawEvent.objects.create(received_at=NOW, source=src, batch=batch, message_id=f"{pid}-{i}-{name}",
                                      type="track", event=name, timestamp=ts, payload={"properties": props})
        EventProfile.objects.create(event_id=raw.pk, received_at=NOW, profile_id=pid, timestamp=ts)


def matches(rule_conditions, **kw) -> set[int]:
    return rule_profile_ids(validate_rule({"type": "all", "conditions": rule_conditions}), now=NOW, **kw)


@pytest.mark.django_db
def test_window_edges_are_inclusive_of_now_minus_n_days_and_exclusive_of_a_between_end():
    edge = _profile()
    outside = _profile()
    _events(edge, ("Visit", NOW - dt.timedelta(days=7), {}))
    _events(outside, ("Visit", NOW - dt.timedelta(days=7, microseconds=1), {}))
    assert matches([{"type": "event", "event": "Visit", "window": {"kind": "last_days", "days": 7}}]) == {edge}
    between = {"kind": "between", "from": "2026-11-13", "to": "2026-11-13T12:00:00+00:00"}
    assert matches([{"type": "event", "event": "Visit", "window": between}]) == {outside}
    day = {"kind": "between", "from": "2026-11-13", "to": "2026-11-13"}  # a date-only end includes its day
    assert matches([{"type": "event", "event": "Visit", "window": day}]) == {edge, outside}


@pytest.mark.django_db
def test_counts_at_least_at_most_exactly_and_not_performed():
    none_, once, thrice = _profile(), _profile(), _profile()
    _events(once, ("Buy", NOW, {}))
    _events(thrice, *[("Buy", NOW - dt.timedelta(hours=h), {}) for h in range(3)])

    def count(op, n):
        return matches([{"type": "event", "event": "Buy", "count": {"op": op, "value": n}}])

    assert count("at_least", 1) == {once, thrice}
    assert count("at_least", 3) == {thrice}
    assert count("at_most", 1) == {none_, once}
    assert count("exactly", 0) == {none_}
    assert count("exactly", 3) == {thrice}


@pytest.mark.django_db
def test_sequence_abandonment_waits_for_the_window_to_pass():
    bought, abandoned, fresh = _profile(), _profile(), _profile()
    day = dt.timedelta(days=1)
    _events(bought, ("Cart Viewed", NOW - 3 * day, {}), ("Order Completed", NOW - 2.5 * day, {}))
    _events(abandoned, ("Cart Viewed", NOW - 3 * day, {}), ("Order Completed", NOW - day, {}))
    _events(fresh, ("Cart Viewed", NOW - dt.timedelta(hours=2), {}))
    rule = [{"type": "sequence", "first": {"event": "Cart Viewed"}, "then": {"event": "Order Completed"},
             "within_days": 1, "then_performed": False}]
    assert matches(rule) == {abandoned}
    rule[0]["then_performed"] = True
    assert matches(rule) == {bought}


@pytest.mark.django_db
def test_hostile_keys_values_and_property_names_are_data():
    key = "x'); DROP TABLE cdp_profile; --"
    pid = _profile(**{key: "%(p0)s'; SELECT 1; --"})
    _events(pid, ("E'v\"nt", NOW, {key: "%s"}))
    assert matches([{"type": "trait", "key": key, "op": "equals", "value": "%(p0)s'; SELECT 1; --"}]) == {pid}
    assert matches([{"type": "event", "event": "E'v\"nt", "where": [{"property": key, "op": "equals",
                                                                   "value": "%s"}]}]) == {pid}
    compiled = rule_sql(validate_rule({"type": "all", "conditions": [
        {"type": "trait", "key": key, "op": "contains", "value": "'; DROP"}]}), now=NOW)
    assert "DROP" not in compiled.sql and key in compiled.params.values()
    assert Profile.objects.count() == 1


@pytest.mark.django_db
def test_lenient_casts_never_fail_a_query():
    good, bad = _profile(age="42", signup="2026-11-01"), _profile(age="forty", signup="2026-13-45")
    assert matches([{"type": "trait", "key": "age", "value_type": "number", "op": "gt", "value": 40}]) == {good}
    assert matches([{"type": "trait", "key": "signup", "value_type": "date", "op": "within_last_days",
                     "value": 30}]) == {good}
    assert matches([{"type": "trait", "key": "age", "value_type": "number", "op": "not_set"}]) == {bad}


@pytest.mark.django_db
def test_ticket_conditions_count_real_tickets_by_status_and_priority():
    from crm.models import Contact, Ticket

    quiet, urgent, solved = (Contact.objects.create(first_name=n) for n in ("Quiet", "Urgent", "Solved"))
    Ticket.objects.create(subject="Down", requester=urgent, status="open", priority="urgent")
    Ticket.objects.create(subject="Slow", requester=urgent, status="pending", priority="normal")
    Ticket.objects.create(subject="Done", requester=solved, status="solved", priority="urgent", solved_at=NOW)
    profiles = {c.first_name: Profile.objects.create(crm_contact_id=c.pk).pk for c in (quiet, urgent, solved)}
    anonymous = _profile()
    no_open_urgent = [{"type": "tickets", "status": "open", "priority": ["urgent"], "count": {"op": "exactly",
                                                                                               "value": 0}}]
    assert matches(no_open_urgent) == {profiles["Quiet"], profiles["Solved"], anonymous}
    assert matches([{"type": "tickets", "count": {"op": "at_least", "value": 2}}]) == {profiles["Urgent"]}
    assert matches([{"type": "tickets", "status": "any", "priority": ["urgent"]}]) == {
        profiles["Urgent"], profiles["Solved"]}
    # The real-time form of the query (a few profiles) counts the same tickets.
    assert matches(no_open_urgent, profile_ids=[profiles["Urgent"], anonymous]) == {anonymous}
