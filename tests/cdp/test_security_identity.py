"""Identity claims a public (website) write key must not be able to make, and identifier types from
context.externalIds that are not configured (issue 12)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cdp.models import Identifier, RawEvent
from tests.cdp.identity_support import ingest, msg, partition, profile_of, source

pytestmark = pytest.mark.django_db


def _people(src):
    """Two identified people, each with a user id and an email."""
    ingest(src, [msg("identify", minute=0, userId="ann", traits={"email": "ann@x.io"}),
                 msg("identify", minute=0, userId="bob", traits={"email": "bob@x.io"})])
    return profile_of("user_id", "ann"), profile_of("user_id", "bob")


def test_alias_from_a_website_key_cannot_merge_several_peoples_emails():
    server, website = source("server"), source("website")
    ann, bob = _people(server)
    ingest(website, [msg("alias", minute=5, userId="mallory", previousId="anon-mallory", context={
        "externalIds": [{"type": "email", "id": "ann@x.io"}, {"type": "email", "id": "bob@x.io"}]})])
    assert profile_of("email", "ann@x.io").pk == ann.pk
    assert profile_of("email", "bob@x.io").pk == bob.pk
    assert profile_of("user_id", "ann").pk != profile_of("user_id", "bob").pk
    # The alias pair itself is still joined.
    assert profile_of("user_id", "mallory").pk == profile_of("user_id", "anon-mallory").pk


def test_alias_pair_still_bypasses_the_user_id_limit():
    src = source("server")
    ingest(src, [msg("identify", minute=0, userId="old-id"), msg("identify", minute=0, userId="new-id")])
    ingest(src, [msg("alias", minute=1, userId="new-id", previousId="old-id")])
    assert profile_of("user_id", "old-id").pk == profile_of("user_id", "new-id").pk


def test_website_key_cannot_claim_crm_contact_ids_crm_anonymous_ids_or_the_crm_merge():
    # Even a website source configured to let emails and external ids join profiles.
    server, website = source("server"), source("website", identity_keys=True)
    ingest(server, [msg("identify", minute=0, anonymousId="crm-contact-7", userId="ann",
                        context={"externalIds": [{"type": "crm_contact_id", "id": "7"}]}),
                    msg("identify", minute=0, userId="bob",
                        context={"externalIds": [{"type": "crm_contact_id", "id": "8"}]})])
    ann = profile_of("user_id", "ann")
    assert profile_of("crm_contact_id", "7").pk == ann.pk  # a server key may assert them
    ingest(website, [
        msg("identify", minute=1, anonymousId="crm-contact-7", traits={"email": "mallory@evil.io"}),
        msg("identify", minute=1, anonymousId="m2", traits={"email": "m2@evil.io"},
            context={"externalIds": [{"type": "crm_contact_id", "id": "7"}]}),
        msg("track", minute=2, anonymousId="m3", event="CRM Contacts Merged",
            context={"externalIds": [{"type": "crm_contact_id", "id": "7"}, {"type": "crm_contact_id", "id": "8"}]}),
        msg("alias", minute=3, userId="mallory", previousId="crm-contact-7"),
    ])
    assert profile_of("user_id", "mallory").pk != ann.pk
    assert profile_of("email", "mallory@evil.io").pk != ann.pk
    assert profile_of("email", "m2@evil.io").pk != ann.pk
    assert profile_of("crm_contact_id", "7").pk != profile_of("crm_contact_id", "8").pk
    assert set(Identifier.objects.filter(profile=ann).values_list("type", "value")) == {
        ("user_id", "ann"), ("anonymous_id", "crm-contact-7"), ("crm_contact_id", "7")}
    assert RawEvent.objects.filter(source=website).count() == 4  # stored, only the claims are ignored


def test_crm_merge_from_a_server_key_still_merges_contacts():
    server = source("server")
    ingest(server, [msg("identify", minute=0, userId="ann", context={"externalIds": [{"type": "crm_contact_id",
                                                                                       "id": "1"}]}),
                    msg("identify", minute=0, userId="ann2", context={"externalIds": [{"type": "crm_contact_id",
                                                                                        "id": "2"}]})])
    ingest(server, [msg("track", minute=1, anonymousId="crm-contact-1", event="CRM Contacts Merged",
                        context={"externalIds": [{"type": "crm_contact_id", "id": "1"},
                                                 {"type": "crm_contact_id", "id": "2"}]})])
    assert profile_of("crm_contact_id", "1").pk == profile_of("crm_contact_id", "2").pk


def test_unconfigured_external_id_types_are_dropped_but_the_event_is_stored(settings):
    settings.CDP_EXTERNAL_ID_TYPES = ["email", "crm_contact_id", "shop_id"]
    website = source("website", identity_keys=True)
    evil = "x');alert(document.cookie);//"
    ingest(website, [msg("identify", minute=0, userId="ann", messageId="xss-1", context={"externalIds": [
        {"type": evil, "id": "v"}, {"type": "Shop_Id", "id": "s-1"}]})])
    assert RawEvent.objects.filter(message_id="xss-1").exists()
    assert partition() == {frozenset({("user_id", "ann"), ("shop_id", "s-1")})}


def test_profile_page_puts_identifier_text_in_data_attributes_not_in_script(client, admin_user):
    """Identifiers stored before types were restricted still render safely: the split confirmation is a data
    attribute (HTML-escaped), never JavaScript."""
    src = source("server")
    ingest(src, [msg("identify", minute=0, userId="ann", anonymousId="dev-1")])
    profile = profile_of("user_id", "ann")
    evil = "x');alert(1);//<b>"
    Identifier.objects.create(type=evil, value="v'\"><img src=x>", profile=profile)
    client.force_login(admin_user)
    html = client.get(reverse("cdp:profile-detail", args=[profile.pk])).content.decode()
    assert "onsubmit" not in html and "alert(1);//<b>" not in html and "<img src=x>" not in html
    assert 'data-confirm="Split x&#x27;);alert(1);//&lt;b&gt;:v&#x27;&quot;&gt;&lt;img src=x&gt;' in html
