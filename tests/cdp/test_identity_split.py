"""Splitting an identifier off a profile (undoing a wrong merge)."""

from __future__ import annotations

import pytest

from cdp.models import ComputedTrait, Identifier, IdentifierSplit, Profile
from cdp.services.identity_split import SplitError, identifier_split
from tests.cdp.identity_support import dangling_links, event_profile, ingest, msg, profile_of, source

pytestmark = pytest.mark.django_db


def test_split_after_merge_moves_only_events_carrying_just_that_identifier(admin_user):
    ComputedTrait.objects.create(key="views", name="Views", aggregate="count", event_type="page")
    src = source()
    home = [msg("page", minute=i, anonymousId="laptop") for i in range(2)]
    tablet = [msg("page", minute=10 + i, anonymousId="tablet") for i in range(3)]
    tablet_id = msg("identify", minute=14, anonymousId="tablet", traits={"nick": "tab"})
    ingest(src, [*home, msg("identify", minute=3, anonymousId="laptop", userId="kim", traits={"nick": "kim"})])
    ingest(src, [*tablet, tablet_id])
    link = msg("identify", minute=20, anonymousId="tablet", userId="kim")
    ingest(src, [link])
    kim = profile_of("user_id", "kim")
    assert profile_of("anonymous_id", "tablet").pk == kim.pk
    assert kim.computed["views"] == 5
    assert kim.traits["nick"] == "tab"

    split = identifier_split(identifier_id=Identifier.objects.get(type="anonymous_id", value="tablet").pk,
                             by=admin_user)

    new = profile_of("anonymous_id", "tablet")
    kim = Profile.objects.get(pk=kim.pk)
    assert new.pk != kim.pk and split.to_profile_id == new.pk and split.from_profile_id == kim.pk
    assert split.events_moved == 4
    assert {event_profile(m["messageId"]) for m in [*tablet, tablet_id]} == {new.pk}
    assert event_profile(link["messageId"]) == kim.pk  # it also carries user_id kim
    assert {event_profile(m["messageId"]) for m in home} == {kim.pk}
    assert kim.traits == {"nick": "kim"} and new.traits == {"nick": "tab"}
    assert kim.computed["views"] == 2 and new.computed["views"] == 3
    assert IdentifierSplit.objects.get().by == admin_user
    assert dangling_links() == []


def test_split_of_the_only_identifier_is_refused():
    src = source()
    ingest(src, [msg("page", minute=0, anonymousId="lonely")])
    with pytest.raises(SplitError):
        identifier_split(identifier_id=Identifier.objects.get(value="lonely").pk)
    assert Profile.objects.count() == 1


def test_admin_rules_and_graph_pages(client, admin_user):
    from cdp.services.identity_rules import identity_rules_load

    identity_rules_load()
    src = source()
    ingest(src, [msg("identify", minute=0, anonymousId="adm-a", userId="adm", traits={"email": "adm@x.io"})])
    client.force_login(admin_user)
    for name in ("identitysettings", "blockedvalue", "identifier", "profile", "profilemerge", "refusedmerge",
                 "identifiersplit", "computedtrait", "readtoken"):
        assert client.get(f"/admin/cdp/{name}/").status_code == 200, name
    settings_page = client.get("/admin/cdp/identitysettings/1/change/").content.decode()
    assert "anonymous_id" in settings_page and "user_id" in settings_page
    blocked = client.get("/admin/cdp/blockedvalue/").content.decode()
    assert "[object Object]" in blocked
    ident = Identifier.objects.get(value="adm-a")
    r = client.post("/admin/cdp/identifier/", {"action": "split_identifiers", "_selected_action": [ident.pk]})
    assert r.status_code == 302
    assert profile_of("anonymous_id", "adm-a").pk != profile_of("user_id", "adm").pk
