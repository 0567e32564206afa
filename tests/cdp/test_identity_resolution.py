"""Identity resolution through the real ingestion path and batch processing (Postgres, no mocks)."""

from __future__ import annotations

import pytest

from cdp.models import Account, Identifier, IngestBatch, Profile, ProfileMerge, RawEvent, RefusedMerge
from cdp.services.processing import batch_process
from tests.cdp.identity_support import dangling_links, event_profile, ingest, msg, partition, profile_of, source

pytestmark = pytest.mark.django_db


def test_anonymous_browsing_then_login_is_one_person():
    src = source()
    pages = [msg("page", minute=i, anonymousId="dev-1") for i in range(3)]
    ingest(src, pages)
    ingest(src, [msg("identify", minute=5, anonymousId="dev-1", userId="u1",
                     traits={"email": "  Ann@Example.COM ", "phone": "(415) 555-2671", "name": "Ann"})])
    p = profile_of("user_id", "u1")
    assert {(i.type, i.value) for i in p.identifiers.all()} == {
        ("user_id", "u1"), ("anonymous_id", "dev-1"), ("email", "ann@example.com"), ("phone", "+14155552671")}
    assert {event_profile(m["messageId"]) for m in pages} == {p.pk}
    assert p.traits["name"] == "Ann"
    assert Profile.objects.filter(merged_into__isnull=True).count() == 1


def test_shared_computer_two_logins_are_two_people_and_device_follows_last_login():
    src = source()
    first = msg("page", minute=0, anonymousId="shared")
    ingest(src, [first, msg("identify", minute=1, anonymousId="shared", userId="alice")])
    mid = msg("page", minute=2, anonymousId="shared")
    ingest(src, [mid])
    ingest(src, [msg("identify", minute=3, anonymousId="shared", userId="bob")])
    later = msg("page", minute=4, anonymousId="shared")
    ingest(src, [later])

    alice, bob = profile_of("user_id", "alice"), profile_of("user_id", "bob")
    assert alice.pk != bob.pk
    assert event_profile(first["messageId"]) == alice.pk
    assert event_profile(mid["messageId"]) == alice.pk
    assert event_profile(later["messageId"]) == bob.pk
    assert profile_of("anonymous_id", "shared").pk == bob.pk
    refusal = RefusedMerge.objects.get()
    assert (refusal.dropped_type, refusal.dropped_value, refusal.handed_over) == ("anonymous_id", "shared", True)
    assert refusal.profile_id == bob.pk and refusal.other_profile_id == alice.pk
    assert "user_id limit 1" in refusal.reason

    # Alice logs in again on the device: it goes back to her, her later anonymous events too.
    ingest(src, [msg("identify", minute=5, anonymousId="shared", userId="alice")])
    back = msg("page", minute=6, anonymousId="shared")
    ingest(src, [back])
    assert event_profile(back["messageId"]) == alice.pk
    assert not ProfileMerge.objects.exists()


def test_shared_computer_inside_one_batch():
    src = source()
    msgs = [msg("identify", minute=1, anonymousId="kiosk", userId="a"), msg("page", minute=2, anonymousId="kiosk"),
            msg("identify", minute=3, anonymousId="kiosk", userId="b"), msg("page", minute=4, anonymousId="kiosk")]
    ingest(src, list(reversed(msgs)))  # stored order does not matter: event time does
    a, b = profile_of("user_id", "a"), profile_of("user_id", "b")
    assert a.pk != b.pk
    assert [event_profile(m["messageId"]) for m in msgs] == [a.pk, a.pk, b.pk, b.pk]


def test_alias_chain_joins_all_user_ids():
    src = source()
    ingest(src, [msg("identify", minute=0, userId="old", traits={"name": "Zed"})])
    ingest(src, [msg("alias", minute=1, previousId="old", userId="mid")])
    ingest(src, [msg("alias", minute=2, previousId="mid", userId="new")])
    ingest(src, [msg("track", minute=3, userId="new")])
    p = profile_of("user_id", "old")
    assert {i.value for i in p.identifiers.filter(type="user_id")} == {"old", "mid", "new"}
    assert p.traits["name"] == "Zed"
    assert RawEvent.objects.exclude(profile_links__profile_id=p.pk).count() == 0


def test_one_message_merges_three_profiles_into_the_oldest():
    src = source()
    e1 = msg("identify", minute=0, userId="u9", traits={"plan": "free"})
    ingest(src, [e1])
    e2 = msg("identify", minute=1, anonymousId="d2", traits={"email": "x@y.io", "plan": "pro"})
    ingest(src, [e2])
    e3 = msg("identify", minute=2, anonymousId="d3", traits={"phone": "+44 20 7946 0958"})
    ingest(src, [e3])
    p1, p2, p3 = (profile_of("user_id", "u9"), profile_of("email", "x@y.io"), profile_of("phone", "+442079460958"))
    assert len({p1.pk, p2.pk, p3.pk}) == 3
    link = msg("identify", minute=3, userId="u9", traits={"email": "X@Y.IO", "phone": "+44 (0)20 7946 0958"})
    ingest(src, [link])
    survivor = profile_of("phone", "+442079460958")
    assert survivor.pk == p1.pk
    assert Profile.objects.get(pk=p2.pk).merged_into_id == p1.pk
    assert Profile.objects.get(pk=p3.pk).merged_into_id == p1.pk
    merges = ProfileMerge.objects.filter(survivor=p1)
    assert {m.merged_id for m in merges} == {p2.pk, p3.pk}
    assert all(m.message_id == link["messageId"] for m in merges)
    assert ["email", "x@y.io"] in merges[0].identifiers
    assert {event_profile(m["messageId"]) for m in (e1, e2, e3, link)} == {p1.pk}
    assert survivor.traits["plan"] == "pro"  # set at minute 1, newer than minute 0
    assert dangling_links() == []


def test_the_explanation_follows_a_chain_of_merges():
    """W merged into X, then X into Y: Y's page explains both, so every identifier on it is accounted for."""
    from cdp.selectors.profiles import profile_merges

    src = source()
    ingest(src, [msg("identify", minute=0, userId="u-chain")])
    ingest(src, [msg("page", minute=1, anonymousId="dev-x")])
    ingest(src, [msg("identify", minute=2, anonymousId="dev-w", traits={"email": "w@chain.io"})])
    y, x, w = profile_of("user_id", "u-chain"), profile_of("anonymous_id", "dev-x"), profile_of("email", "w@chain.io")
    first = msg("identify", minute=3, anonymousId="dev-x", traits={"email": "w@chain.io"})
    ingest(src, [first])
    second = msg("track", minute=4, anonymousId="dev-x", userId="u-chain")
    ingest(src, [second])
    assert profile_of("email", "w@chain.io").pk == y.pk
    assert set(Profile.objects.filter(pk__in=[x.pk, w.pk]).values_list("merged_into_id", flat=True)) == {y.pk}

    why = profile_merges(Profile.objects.get(pk=y.pk))
    assert [(m.merged_id, m.survivor_id, m.message_id) for m in why.merges] == [
        (w.pk, x.pk, first["messageId"]), (x.pk, y.pk, second["messageId"])]
    assert why.nodes == sorted({y.pk, x.pk, w.pk})
    assert dangling_links() == []


def test_late_old_event_does_not_overwrite_newer_trait():
    src = source()
    ingest(src, [msg("identify", minute=10, userId="u1", traits={"plan": "pro", "city": "Oslo"})])
    ingest(src, [msg("identify", minute=5, userId="u1", traits={"plan": "free", "age": 40})])
    p = profile_of("user_id", "u1")
    assert p.traits == {"plan": "pro", "city": "Oslo", "age": 40}
    ingest(src, [msg("identify", minute=11, userId="u1", traits={"plan": "team"})])
    assert profile_of("user_id", "u1").traits["plan"] == "team"


def test_merge_keeps_the_newest_value_of_each_trait():
    src = source()
    ingest(src, [msg("identify", minute=1, anonymousId="a", traits={"color": "red", "size": "S"})])
    ingest(src, [msg("identify", minute=2, userId="u", traits={"color": "blue"})])
    ingest(src, [msg("identify", minute=0, anonymousId="a", userId="u")])  # late event that links them
    p = profile_of("user_id", "u")
    assert p.traits == {"color": "blue", "size": "S"}


@pytest.mark.parametrize("junk", ["null", "undefined", "0", "  ", "[object Object]", "Anonymous", "N/A"])
def test_blocked_values_never_link_people(junk):
    src = source()
    ingest(src, [msg("identify", minute=0, userId="p1", anonymousId=junk, traits={"email": "test@test.com"})])
    ingest(src, [msg("identify", minute=1, userId="p2", anonymousId=junk, traits={"email": "TEST@test.com"})])
    assert profile_of("user_id", "p1").pk != profile_of("user_id", "p2").pk
    assert not Identifier.objects.filter(value__in=[junk, "test@test.com"]).exists()


def test_blocked_regex_rule_from_settings():
    from cdp.models import BlockedValue
    from cdp.services.identity_rules import identity_rules_load

    identity_rules_load()
    BlockedValue.objects.create(value=r"@mailinator\.com$", is_regex=True, identifier_type="email")
    src = source()
    ingest(src, [msg("identify", minute=0, userId="p1", traits={"email": "a@MAILINATOR.com"})])
    ingest(src, [msg("identify", minute=1, userId="p2", traits={"email": "a@mailinator.com"})])
    assert not Identifier.objects.filter(type="email").exists()


def test_a_value_blocked_after_it_was_seen_is_blocked_from_then_on():
    from cdp.models import BlockedValue

    src = source()
    ingest(src, [msg("identify", minute=0, userId="q1", anonymousId="kiosk-7")])
    assert Identifier.objects.filter(type="anonymous_id", value="kiosk-7").exists()
    BlockedValue.objects.create(value="KIOSK-7", is_regex=False, identifier_type="anonymous_id")
    ingest(src, [msg("identify", minute=1, userId="q2", anonymousId="kiosk-7")])
    # The second person is not linked to the first through the now blocked device id.
    assert profile_of("user_id", "q1").pk != profile_of("user_id", "q2").pk
    assert not RefusedMerge.objects.exists()


def test_two_user_ids_sharing_an_email_stay_apart_and_refusal_is_recorded():
    src = source()
    ingest(src, [msg("identify", minute=0, userId="x1", traits={"email": "family@home.net"})])
    ingest(src, [msg("identify", minute=1, userId="x2", traits={"email": "family@home.net"})])
    x1, x2 = profile_of("user_id", "x1"), profile_of("user_id", "x2")
    assert x1.pk != x2.pk
    assert profile_of("email", "family@home.net").pk == x1.pk  # emails are not handed over
    refusal = RefusedMerge.objects.get()
    assert refusal.dropped_type == "email" and not refusal.handed_over
    assert (refusal.profile_id, refusal.other_profile_id) == (x2.pk, x1.pk)
    assert dangling_links() == []


def test_email_limit_refuses_the_sixth_email():
    src = source()
    msgs = [msg("identify", minute=i, userId="many", traits={"email": f"e{i}@x.io"}) for i in range(6)]
    ingest(src, msgs)
    p = profile_of("user_id", "many")
    assert p.identifiers.filter(type="email").count() == 5
    assert not Identifier.objects.filter(value="e5@x.io").exists()
    assert RefusedMerge.objects.filter(dropped_value="e5@x.io", reason__startswith="email limit 5").exists()


def test_group_links_an_account_without_merging_people():
    src = source()
    ingest(src, [msg("group", minute=0, userId="g1", groupId="acme", traits={"name": "Acme", "plan": "ent"})])
    ingest(src, [msg("group", minute=1, userId="g2", groupId="acme", traits={"employees": 40})])
    g1, g2 = profile_of("user_id", "g1"), profile_of("user_id", "g2")
    assert g1.pk != g2.pk
    account = Account.objects.get(group_id="acme")
    assert g1.account_id == g2.account_id == account.pk
    assert account.traits == {"name": "Acme", "plan": "ent", "employees": 40}


def test_reprocessing_the_same_events_changes_nothing():
    from cdp.models import ComputedTrait

    ComputedTrait.objects.create(key="clicks", name="Clicks", aggregate="count", event_name="Clicked")
    src = source()
    batch = ingest(src, [msg("track", minute=0, anonymousId="d"), msg("track", minute=1, anonymousId="d"),
                         msg("identify", minute=2, anonymousId="d", userId="r", traits={"k": 1})])
    ingest(src, [msg("identify", minute=3, userId="r", traits={"email": "r@r.io"})])

    def snapshot():
        return (partition(),
                sorted(Profile.objects.values_list("id", "merged_into_id", "traits", "computed", "crm_contact_id")),
                sorted(RawEvent.objects.values_list("id", "profile_links__profile_id")),
                ProfileMerge.objects.count(), RefusedMerge.objects.count())

    before = snapshot()
    assert profile_of("user_id", "r").computed["clicks"] == 2
    batch_process(batch_id=batch)  # already processed: a no-op
    assert snapshot() == before
    IngestBatch.objects.update(processed_at=None)  # force a full reprocess of every batch
    for b in IngestBatch.objects.order_by("id"):
        batch_process(batch_id=b.pk)
    assert snapshot() == before


def test_profiles_changed_listeners_hear_the_touched_profiles():
    from cdp.extensions import _profiles_listeners, register_profiles_changed_listener

    heard: list[list[int]] = []
    register_profiles_changed_listener(heard.append)
    try:
        ingest(source(), [msg("identify", minute=0, userId="heard", traits={"x": 1})])
    finally:
        _profiles_listeners.remove(heard.append)
    assert heard == [[profile_of("user_id", "heard").pk]]
