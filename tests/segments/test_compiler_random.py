"""The compiler against a brute-force Python evaluator over a random world and random rule trees."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.rules import validate_rule
from segments.selectors.evaluation import rule_profile_ids
from tests.segments.world import EVENT_NAMES, NOW, PLANS, TAGS, build_world, expected

HOSTILE = ["'; DROP TABLE cdp_profile; --", "%s", "%(p0)s", "\\", "a'b\"c", "ü∑ß", "x%_y"]
STRINGS = st.sampled_from(["free", "pro", "Pro", "pro max", "/pricing", "12", "true", *PLANS, *HOSTILE])
DAYS = st.integers(min_value=1, max_value=70)


def _iso(days: int) -> str:
    return (NOW - dt.timedelta(days=days)).isoformat()


DATES = st.one_of(st.integers(-5, 90).map(_iso),
                  st.integers(-5, 90).map(lambda d: (NOW - dt.timedelta(days=d)).date().isoformat()))
NUMBERS = st.one_of(st.integers(-10, 300), st.sampled_from(["12", "0.5", "250"]))


def typed(value_type: str):
    if value_type == "string":
        return st.one_of(
            st.fixed_dictionaries({"op": st.sampled_from(["equals", "not_equals", "contains", "not_contains",
                                                          "starts_with"]), "value": STRINGS}),
            st.fixed_dictionaries({"op": st.sampled_from(["in", "not_in"]),
                                   "value": st.lists(STRINGS, min_size=1, max_size=3)}),
            st.fixed_dictionaries({"op": st.sampled_from(["is_set", "not_set"])}),
        )
    if value_type == "number":
        return st.one_of(
            st.fixed_dictionaries({"op": st.sampled_from(["equals", "not_equals", "gt", "gte", "lt", "lte"]),
                                   "value": NUMBERS}),
            st.tuples(st.integers(-10, 150), st.integers(0, 200)).map(
                lambda t: {"op": "between", "value": [min(t), max(t)]}),
            st.fixed_dictionaries({"op": st.sampled_from(["is_set", "not_set"])}),
        )
    if value_type == "date":
        return st.one_of(
            st.fixed_dictionaries({"op": st.sampled_from(["before", "after"]), "value": DATES}),
            st.fixed_dictionaries({"op": st.sampled_from(["within_last_days", "within_next_days"]), "value": DAYS}),
            st.tuples(st.integers(-5, 90), st.integers(-5, 90)).map(
                lambda t: {"op": "between", "value": [_iso(max(t) + 1), _iso(min(t))]}),
            st.fixed_dictionaries({"op": st.sampled_from(["is_set", "not_set"])}),
        )
    return st.fixed_dictionaries({"op": st.sampled_from(["is_true", "is_false", "is_set", "not_set"])})


def with_type(keys):
    return st.sampled_from(["string", "number", "date", "boolean"]).flatmap(
        lambda vt: st.tuples(st.just(vt), typed(vt), keys).map(
            lambda t: {"value_type": t[0], **t[1], **t[2]}))


TRAIT_KEYS = st.sampled_from(["plan", "age", "signup", "vip", "city", "orders", "last_seen", "seats", *HOSTILE])
trait = with_type(st.fixed_dictionaries({"key": TRAIT_KEYS})).flatmap(
    lambda c: st.sampled_from(["profile", "computed", "account"]).map(lambda s: {"type": "trait", "source": s, **c}))

prop_filter = with_type(st.fixed_dictionaries({"property": st.sampled_from(
    ["path", "amount", "plan.tier", "missing", *HOSTILE])}))
which = st.fixed_dictionaries({"event": st.sampled_from([*EVENT_NAMES, "Never Seen", HOSTILE[0]])},
                              optional={"event_type": st.sampled_from(["page", "track"]),
                                        "where": st.lists(prop_filter, max_size=2)})
window = st.one_of(st.just({"kind": "ever"}), DAYS.map(lambda d: {"kind": "last_days", "days": d}),
                   st.tuples(st.integers(0, 60), st.integers(0, 60)).map(
                       lambda t: {"kind": "between", "from": _iso(max(t) + 1), "to": _iso(min(t))}))
count = st.fixed_dictionaries({"op": st.sampled_from(["at_least", "at_most", "exactly"]),
                               "value": st.integers(0, 4)})
event = st.tuples(which, count, window).map(lambda t: {"type": "event", **t[0], "count": t[1], "window": t[2]})
event_time = st.tuples(which, st.sampled_from(["first", "last"]), typed("date").filter(
    lambda c: c["op"] not in ("is_set", "not_set"))).map(lambda t: {"type": "event_time", **t[0], "which": t[1],
                                                                    **t[2]})
sequence = st.tuples(which, which, st.integers(1, 10), st.booleans(), st.one_of(st.none(), which), window).map(
    lambda t: {"type": "sequence", "first": t[0], "then": t[1], "within_days": t[2], "then_performed": t[3],
               **({"not_between": t[4]} if t[3] and t[4] is not None else {}), "window": t[5]})


def crm(world):
    lifecycle = st.one_of(
        st.fixed_dictionaries({"op": st.sampled_from(["equals", "not_equals"]),
                               "value": st.sampled_from(["lead", "customer", "churned", HOSTILE[0]])}),
        st.fixed_dictionaries({"op": st.sampled_from(["in", "not_in"]),
                               "value": st.lists(st.sampled_from(["lead", "customer", "churned"]), min_size=1)}))
    owners = [str(o) for o in world.owners]
    owner = st.one_of(
        st.fixed_dictionaries({"op": st.sampled_from(["equals", "not_equals"]), "value": st.sampled_from(owners)}),
        st.fixed_dictionaries({"op": st.sampled_from(["in", "not_in"]),
                               "value": st.lists(st.sampled_from(owners), min_size=1, max_size=2)}),
        st.fixed_dictionaries({"op": st.sampled_from(["is_set", "not_set"])}))
    tags = st.one_of(
        st.fixed_dictionaries({"op": st.sampled_from(["contains", "not_contains"]), "value": st.sampled_from(TAGS)}),
        st.fixed_dictionaries({"op": st.sampled_from(["in", "not_in"]),
                               "value": st.lists(st.sampled_from(TAGS), min_size=1, max_size=2)}),
        st.fixed_dictionaries({"op": st.sampled_from(["is_set", "not_set"])}))
    custom = with_type(st.fixed_dictionaries({"key": st.sampled_from(["tier", "score", "renewal", HOSTILE[2]])}))
    contact = st.one_of(
        lifecycle.map(lambda c: {"type": "contact", "field": "lifecycle_stage", **c}),
        owner.map(lambda c: {"type": "contact", "field": "owner", **c}),
        tags.map(lambda c: {"type": "contact", "field": "tags", **c}),
        custom.map(lambda c: {"type": "contact", "field": "custom", **c}))
    ids = st.sampled_from([str(s) for s in world.stages])
    deal_filter = st.one_of(
        st.fixed_dictionaries({"field": st.just("stage"), "op": st.sampled_from(["equals", "not_equals"]),
                               "value": ids}),
        st.fixed_dictionaries({"field": st.just("stage"), "op": st.sampled_from(["in", "not_in"]),
                               "value": st.lists(ids, min_size=1, max_size=2)}),
        st.fixed_dictionaries({"field": st.just("pipeline"), "op": st.just("equals"),
                               "value": st.just(str(world.pipelines[0]))}),
        st.fixed_dictionaries({"field": st.just("status"), "op": st.sampled_from(["equals", "not_equals"]),
                               "value": st.sampled_from(["open", "won", "lost"])}),
        typed("number").map(lambda c: {"field": "amount", **c}),
        typed("date").map(lambda c: {"field": "close_date", **c}))
    deal = st.tuples(st.booleans(), st.lists(deal_filter, max_size=3)).map(
        lambda t: {"type": "deal", "has": t[0], "where": t[1]})
    company_filter = st.one_of(
        typed("string").map(lambda c: {"field": "industry", **c}),
        tags.map(lambda c: {"field": "tags", **c}),
        typed("string").map(lambda c: {"field": "custom", "key": "tier", **c}))
    company = st.lists(company_filter, max_size=2).map(lambda w: {"type": "company", "where": w})
    tickets = st.fixed_dictionaries({"type": st.just("tickets"), "count": count},
                                    optional={"priority": st.lists(st.sampled_from(["urgent", "high"]), max_size=2)})
    segment = st.booleans().map(lambda m: {"type": "segment", "segment": world.ref_segment, "member": m})
    return st.one_of(contact, deal, company, tickets, segment)


def trees(world):
    leaf = st.one_of(trait, event, event_time, sequence, crm(world))
    return st.recursive(
        leaf, lambda children: st.fixed_dictionaries({
            "type": st.sampled_from(["all", "any", "none"]), "conditions": st.lists(children, max_size=3)}),
        max_leaves=6,
    ).map(lambda node: node if node["type"] in ("all", "any", "none") else {"type": "all", "conditions": [node]})


@pytest.fixture
def world(db):
    return build_world(seed=11)


@pytest.mark.django_db
def test_compiler_agrees_with_brute_force(world):
    checked = {"n": 0, "nonempty": 0}

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(tree=trees(world))
    def run(tree):
        norm = validate_rule(tree)
        got = rule_profile_ids(norm, now=NOW)
        want = expected(world, norm)
        assert got == want, (tree, sorted(got ^ want))
        # The same compiled query restricted to some profiles (the real-time check) agrees too.
        some = sorted(world.profiles)[::3]
        assert rule_profile_ids(norm, now=NOW, profile_ids=some) == want & set(some)
        checked["n"] += 1
        checked["nonempty"] += bool(want) and want != {p for p, v in world.profiles.items() if not v["merged_into"]}

    run()
    # The generated rules were not all trivially empty or everyone.
    assert checked["nonempty"] > checked["n"] // 4
