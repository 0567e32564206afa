"""The in-memory resolution rules (no database): order independence and the limit/handover rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.services.identity_graph import resolve_messages
from cdp.services.identity_rules import IdentityRules, alias_resolve, message_identifiers


def _partition(graph):
    groups: dict[int, set] = {}
    for ident, key in graph.final_owners().items():
        groups.setdefault(key, set()).add(ident)
    return {frozenset(g) for g in groups.values()}


@st.composite
def conflict_free(draw):
    """Messages of people who never share an identifier; each carries 1-3 of its person's identifiers."""
    people = draw(st.integers(1, 6))
    messages = []
    for p in range(people):
        own = [("user_id", f"u{p}"), ("email", f"p{p}@x.io"), ("phone", f"+1415555{p:04d}")] + [
            ("anonymous_id", f"d{p}-{k}") for k in range(3)]
        for _ in range(draw(st.integers(1, 5))):
            ids = draw(st.lists(st.sampled_from(own), min_size=1, max_size=3, unique=True))
            messages.append({"ids": ids, "person": p})
    return draw(st.permutations(messages))


@settings(max_examples=200, deadline=None)
@given(messages=conflict_free(), data=st.data())
def test_partition_does_not_depend_on_order(messages, data):
    rules = IdentityRules()
    graph, _ = resolve_messages(messages, rules=rules)
    again, _ = resolve_messages(data.draw(st.permutations(messages)), rules=rules)
    assert _partition(graph) == _partition(again)
    person_of = {i: m["person"] for m in messages for i in m["ids"]}
    for group in _partition(graph):  # never joins two people
        assert len({person_of[i] for i in group}) == 1


def test_shared_device_hands_over_and_refuses_merge():
    rules = IdentityRules()
    msgs = [{"ids": [("user_id", "a"), ("anonymous_id", "dev")]}, {"ids": [("anonymous_id", "dev")]},
            {"ids": [("user_id", "b"), ("anonymous_id", "dev")]}, {"ids": [("anonymous_id", "dev")]}]
    graph, keys = resolve_messages(msgs, rules=rules)
    assert keys[0] == keys[1] and keys[2] == keys[3] and keys[0] != keys[2]
    assert len(graph.refusals) == 1 and graph.refusals[0].handed_over
    assert not graph.merges


def test_alias_is_exempt_from_limits_and_extraction_rules():
    rules = IdentityRules()
    alias = {"type": "alias", "previousId": "old", "userId": "new", "anonymousId": "dev"}
    candidates = message_identifiers(alias, rules=rules)
    assert set(candidates) == {("user_id", "new"), ("user_id", "old"), ("anonymous_id", "old"), ("anonymous_id", "dev")}
    ids = alias_resolve(candidates, alias, known=lambda i: i == ("user_id", "old"))
    assert ids == [("user_id", "new"), ("user_id", "old"), ("anonymous_id", "dev")]
    graph, keys = resolve_messages([{"ids": [("user_id", "old")]}, {"ids": [("user_id", "new")]},
                                    {"ids": ids, "explicit": True}], rules=rules)
    assert len({graph.find(k) for k in keys}) == 1 and len(graph.merges) == 1


def test_extraction_normalises_and_blocks():
    rules = IdentityRules()
    message = {"type": "identify", "userId": 42, "anonymousId": "undefined",
               "traits": {"email": " Ann@EX.com ", "phone": "415-555-2671"},
               "context": {"traits": {"email": "test@test.com"},
                           "externalIds": [{"id": "cus_1", "type": "Stripe_Customer_Id"},
                                           {"id": "x", "type": "unconfigured_type"},
                                           {"id": "9", "type": "crm_contact_id"}]}}
    assert message_identifiers(message, rules=rules) == [
        ("user_id", "42"), ("email", "ann@ex.com"), ("phone", "+14155552671"), ("stripe_customer_id", "cus_1")]
    assert ("crm_contact_id", "9") in message_identifiers(message, rules=rules, source_kind="crm")
