"""Customer 360, profile search, computed trait definitions, read tokens, and the CRM contact integration."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cdp.models import ComputedTrait, Identifier, Profile, ReadToken
from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.processing import batch_process
from crm.services.contacts import contact_create
from tests.cdp.identity_support import ingest, msg, profile_of, source
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer_client(client, marketing_user):
    client.force_login(marketing_user)
    return client


@pytest.fixture
def linked(admin_user):
    """A CRM contact owned by the admin, seen on the web as user 'ivy' with two devices (merged)."""
    from cdp.models import IngestBatch

    contact = contact_create(actor=None, first_name="Ivy", last_name="Stone", emails=["ivy@stone.io"],
                             owner=admin_user)
    crm_outbox_drain()
    for b in IngestBatch.objects.filter(processed_at__isnull=True):
        batch_process(batch_id=b.pk)
    src = source("website", "Shop", identity_keys=True)
    ingest(src, [msg("page", minute=0, anonymousId="ivy-phone", name="Pricing")])
    ingest(src, [msg("identify", minute=1, anonymousId="ivy-laptop", userId="ivy",
                     traits={"email": "IVY@stone.io", "plan": "pro"})])
    ingest(src, [msg("track", minute=2, anonymousId="ivy-phone", userId="ivy", event="Signed Up")])
    ComputedTrait.objects.create(key="signups", name="Sign-ups", aggregate="count", event_name="Signed Up")
    return contact, profile_of("user_id", "ivy")


def test_customer_360_shows_identity_traits_crm_and_timeline(client, admin_user, linked):
    from crm.services.deals import deal_create
    from crm.services.pipelines import pipeline_create

    contact, profile = linked
    pipeline = pipeline_create(name="Sales", is_default=True, stages=[{"name": "Qualify", "probability": 20}])
    deal_create(user=admin_user, name="Ivy renewal", pipeline=pipeline, amount=1200, contacts=[contact])
    client.force_login(admin_user)
    r = client.get(reverse("cdp:profile-detail", args=[profile.pk]))
    html = r.content.decode()
    assert r.status_code == 200
    for text in ("ivy@stone.io", "anonymous_id", "ivy-phone", "plan", "pro", "Ivy Stone", "Viewed Pricing",
                 "Signed Up", "Why are these one person?", "Created", "Ivy renewal", "Qualify", "1200"):
        assert text in html, text
    assert reverse("contact-detail", args=[contact.pk]) in html
    assert 'data-testid="merge-graph"' in html
    # Only web events when filtered (the CRM history entries disappear).
    r = client.get(reverse("cdp:profile-timeline", args=[profile.pk]) + "?kind=web_event")
    part = r.content.decode()
    assert "Signed Up" in part and 'data-kind="history"' not in part


def test_merged_profile_url_redirects_to_the_survivor(client, admin_user, linked):
    _, profile = linked
    merged = Profile.objects.filter(merged_into=profile).first()
    assert merged is not None
    client.force_login(admin_user)
    r = client.get(reverse("cdp:profile-detail", args=[merged.pk]))
    assert r.status_code == 302 and r.url == reverse("cdp:profile-detail", args=[profile.pk])


def test_the_page_explains_merges_into_a_profile_merged_in_turn(client, admin_user):
    src = source()
    ingest(src, [msg("identify", minute=0, userId="u-old")])
    ingest(src, [msg("page", minute=1, anonymousId="dev-mid")])
    ingest(src, [msg("identify", minute=2, anonymousId="dev-new", traits={"email": "new@chain.io"})])
    mid, new = profile_of("anonymous_id", "dev-mid"), profile_of("email", "new@chain.io")
    ingest(src, [msg("identify", minute=3, anonymousId="dev-mid", traits={"email": "new@chain.io"})])
    ingest(src, [msg("track", minute=4, anonymousId="dev-mid", userId="u-old")])
    survivor = profile_of("user_id", "u-old")
    client.force_login(admin_user)
    html = client.get(reverse("cdp:profile-detail", args=[survivor.pk])).content.decode()
    assert f"Profile {mid.pk} joined this one" in html
    assert f"Profile {new.pk} joined profile {mid.pk} (merged into this one since)" in html


def test_crm_contact_page_shows_web_events_and_profile_panel(client, admin_user, linked):
    contact, profile = linked
    client.force_login(admin_user)
    html = client.get(reverse("contact-detail", args=[contact.pk])).content.decode()
    assert "Signed Up" in html and "Viewed Pricing" in html
    assert reverse("cdp:profile-detail", args=[profile.pk]) in html
    assert "Customer profile" in html


def test_search_by_identifier_or_trait(marketer_client, linked, django_assert_max_num_queries):
    _, profile = linked
    for q in ("email:IVY@stone.io", "ivy-laptop", "user_id:ivy", "Stone"):
        with django_assert_max_num_queries(8):
            r = marketer_client.get(reverse("cdp:profile-list"), {"q": q})
        assert reverse("cdp:profile-detail", args=[profile.pk]) in r.content.decode(), q
    r = marketer_client.get(reverse("cdp:profile-list"), {"q": "nobody-here"})
    assert "No profile matches" in r.content.decode()


def test_admin_splits_an_identifier_from_the_page(client, admin_user, linked, marketing_user):
    _, profile = linked
    ident = Identifier.objects.get(type="anonymous_id", value="ivy-laptop")
    client.force_login(marketing_user)
    assert client.post(reverse("cdp:identifier-split", args=[ident.pk])).status_code == 403
    client.force_login(admin_user)
    r = client.post(reverse("cdp:identifier-split", args=[ident.pk]))
    new = profile_of("anonymous_id", "ivy-laptop")
    assert new.pk != profile.pk and r.url == reverse("cdp:profile-detail", args=[new.pk])


def test_marketer_defines_a_computed_trait(marketer_client, linked, django_capture_on_commit_callbacks):
    _, profile = linked
    with django_capture_on_commit_callbacks(execute=True):
        r = marketer_client.post(reverse("cdp:computed-trait-new"), {
            "name": "Pricing views", "key": "pricing_views", "aggregate": "count", "event_type": "page",
            "event_name": "Pricing", "filters": "", "enabled": "on"})
    assert r.status_code == 302
    assert Profile.objects.get(pk=profile.pk).computed["pricing_views"] == 1  # backfilled (eager task)
    r = marketer_client.post(reverse("cdp:computed-trait-new"), {
        "name": "Spend", "key": "spend", "aggregate": "sum", "filters": "{bad"})
    html = r.content.decode()
    assert r.status_code == 200 and "needs the property" in html and "Not valid JSON" in html
    assert not ComputedTrait.objects.filter(key="spend").exists()
    trait = ComputedTrait.objects.get(key="pricing_views")
    marketer_client.post(reverse("cdp:computed-trait-delete", args=[trait.pk]))
    assert "pricing_views" not in Profile.objects.get(pk=profile.pk).computed


def test_sales_rep_can_view_but_not_define(client, linked):
    rep = UserFactory(role="Sales")
    client.force_login(rep)
    assert client.get(reverse("cdp:computed-traits")).status_code == 200
    assert client.get(reverse("cdp:computed-trait-new")).status_code == 403
    assert client.get(reverse("cdp:read-tokens")).status_code == 403


def test_read_token_page_shows_token_once(marketer_client):
    r = marketer_client.post(reverse("cdp:read-tokens"), {"name": "site"})
    html = r.content.decode()
    token = ReadToken.objects.get(name="site")
    assert "copy it now" in html and token.prefix in html
    html = marketer_client.get(reverse("cdp:read-tokens")).content.decode()
    assert "copy it now" not in html
    marketer_client.post(reverse("cdp:read-token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
