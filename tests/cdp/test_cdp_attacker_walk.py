"""An attacker's walk over every CDP page and endpoint that takes an id (issue 12), logged in as a Sales rep of
another team and as a Support agent: profiles linked to contacts they may not see (and profiles linked to no
contact) are absent from lists and searches and answer 404 everywhere (Customer 360, timeline, merge
explanation, segment memberships); the marketer-only pages (source management and keys, debugger, imports, read
tokens, computed trait editing) answer 403; the profile API does not take a session."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from cdp.models import EventImport, Identifier, IngestBatch, Profile, ReadToken, Source
from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.processing import batch_process
from cdp.services.sources import source_create
from crm.services.contacts import contact_create
from crm.services.deals import deal_create
from tests.cdp.factories import ReadTokenFactory
from tests.cdp.identity_support import ingest, msg
from tests.crm.deal_factories import make_pipeline
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET_WORDS = ("Rita", "rita@rival.example", "rival-device", "Rival deal", "visitor-secret")


def _sync():
    """The CRM's outbox into the CDP, and every stored batch through identity resolution."""
    crm_outbox_drain()
    for batch in IngestBatch.objects.filter(processed_at__isnull=True).order_by("id"):
        batch_process(batch_id=batch.pk)


@pytest.fixture
def world(settings, tmp_path):
    """A rival rep's contact with a deal and web events (one profile, merged from two), a web visitor known to
    no contact, the attacker's own contact, and the CDP's sources, import, read token and computed trait."""
    settings.MEDIA_ROOT = tmp_path
    rival = UserFactory(username="rival", role="Sales")
    contact = contact_create(actor=rival, owner=rival, first_name="Rita", last_name="Rival",
                             emails=["rita@rival.example"])
    deal_create(user=rival, name="Rival deal", pipeline=make_pipeline(), contacts=[contact])
    _sync()
    website = Source.objects.create(name="Website", kind=Source.Kind.WEBSITE)
    server = Source.objects.create(name="Backend", kind=Source.Kind.SERVER)
    ingest(website, [msg("page", minute=1, anonymousId="rival-device", properties={"path": "/pricing"})])
    ingest(server, [msg("identify", minute=2, anonymousId="rival-device", userId="rita-1",
                        traits={"email": "rita@rival.example"})])
    ingest(website, [msg("page", minute=3, anonymousId="visitor-device",
                         properties={"path": "/visitor-secret"})])
    ingest(server, [msg("identify", minute=4, userId="visitor-1", anonymousId="visitor-device",
                        traits={"name": "visitor-secret"})])
    linked = Profile.objects.get(crm_contact_id=contact.pk)
    merged = Profile.objects.filter(merged_into=linked).first()
    visitor = Identifier.objects.get(type="user_id", value="visitor-1").profile
    assert Identifier.objects.get(type="anonymous_id", value="rival-device").profile_id == linked.pk
    job = EventImport.objects.create(source=server, kind="events", status="done", created_by=rival)
    src = source_create(name="Shop", kind=Source.Kind.WEBSITE)
    token = ReadTokenFactory(scopes=["identifiers", "traits", "events"])
    return {"rival": rival, "contact": contact, "linked": linked, "merged": merged, "visitor": visitor,
            "job": job, "source": src, "token": token}


def attacker(role: str):
    user = UserFactory(username=f"mallory-{role.lower()}", role=role)
    client, api = Client(), APIClient()
    client.force_login(user)
    api.force_authenticate(user)
    return user, client, api


def profile_urls(pk: int) -> list[str]:
    return [reverse("cdp:profile-detail", args=[pk]), reverse("cdp:profile-timeline", args=[pk]),
            reverse("cdp:profile-timeline", args=[pk]) + "?kind=web_event&kind=activity",
            f"/api/segments/profiles/{pk}/memberships/"]


def marketer_only(w) -> tuple[list[str], list[str]]:
    """(GET urls, POST urls) only Marketing and admins may use."""
    s, j, t = w["source"].pk, w["job"].pk, w["token"].pk
    gets = [reverse("cdp:source-new"), reverse("cdp:source-debugger", args=[s]),
            reverse("cdp:source-debugger-feed", args=[s]), reverse("cdp:imports"), reverse("cdp:import-new"),
            reverse("cdp:import-detail", args=[j]), reverse("cdp:import-progress", args=[j]),
            reverse("cdp:import-errors", args=[j]), reverse("cdp:read-tokens"), reverse("cdp:computed-trait-new")]
    posts = [reverse("cdp:source-new"), reverse("cdp:source-detail", args=[s]), reverse("cdp:source-rotate", args=[s]),
             reverse("cdp:source-end-grace", args=[s]), reverse("cdp:source-try", args=[s]),
             reverse("cdp:read-tokens"), reverse("cdp:read-token-rotate", args=[t]),
             reverse("cdp:read-token-revoke", args=[t]), reverse("cdp:import-new")]
    return gets, posts


def _shows_nothing_of(html: str, words=SECRET_WORDS) -> None:
    for word in words:
        assert word not in html, word


@pytest.mark.parametrize("role", ["Sales", "Support"])
def test_profiles_of_contacts_one_may_not_see_are_invisible(world, role):
    user, client, api = attacker(role)
    own = contact_create(actor=None, owner=user, first_name="Olga", last_name="Own", emails=["olga@own.example"])
    _sync()
    own_profile = Profile.objects.get(crm_contact_id=own.pk)
    linked, visitor = world["linked"], world["visitor"]
    support = role == "Support"  # Support sees every contact, so the profiles linked to them; never visitors

    lists = [client.get(reverse("cdp:profile-list")).content.decode()]
    for q in ("rita", "Rita", "email:rita@rival.example", "anonymous_id:rival-device", "user_id:rita-1", "Rival",
              "visitor-secret", "user_id:visitor-1", "/pricing"):
        response = client.get(reverse("cdp:profile-list"), {"q": q})
        assert response.status_code == 200
        echoes = (f'value="{escape(q)}"', f"“{escape(q)}”")  # the search box and the "no match" line repeat q
        html = response.content.decode()
        for echo in echoes:
            html = html.replace(echo, "")
        lists.append(html)
    for html in lists:
        _shows_nothing_of(html, ["visitor-secret", f'href="{reverse("cdp:profile-detail", args=[visitor.pk])}"'])
        if not support:
            _shows_nothing_of(html, ["rita@rival.example", "Rita Rival",
                                     f'href="{reverse("cdp:profile-detail", args=[linked.pk])}"'])
    assert "Olga" in lists[0]  # the attacker's own contact's profile is listed: the list is not just empty

    hidden = [visitor.pk] + ([] if support else [linked.pk] + ([world["merged"].pk] if world["merged"] else []))
    for pk in hidden:
        for url in profile_urls(pk):
            response = api.get(url) if url.startswith("/api/") else client.get(url)
            assert response.status_code == 404, (url, response.status_code)
            _shows_nothing_of(response.content.decode())
    visible = [own_profile.pk] + ([linked.pk] if support else [])
    for pk in visible:
        for url in profile_urls(pk):
            response = api.get(url) if url.startswith("/api/") else client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    if support:  # what Support sees of the rival's contact is what the CRM shows it, not the visitor
        html = client.get(reverse("cdp:profile-detail", args=[linked.pk])).content.decode()
        assert "rita@rival.example" in html
        _shows_nothing_of(html, ["visitor-secret"])

    # Splitting an identifier off is for admins: refused, nothing moves.
    ident = Identifier.objects.get(type="anonymous_id", value="rival-device")
    assert client.post(reverse("cdp:identifier-split", args=[ident.pk])).status_code in (403, 404)
    assert Identifier.objects.get(pk=ident.pk).profile_id == linked.pk


@pytest.mark.parametrize("role", ["Sales", "Support"])
def test_marketer_only_pages_are_refused(world, role):
    _user, client, _api = attacker(role)
    sources_before = list(Source.objects.order_by("pk").values_list("pk", "write_key_hash", "enabled"))
    tokens_before = list(ReadToken.objects.values_list("pk", "token_hash", "revoked_at"))
    gets, posts = marketer_only(world)
    for url in gets:
        response = client.get(url)
        assert response.status_code == 403, (url, response.status_code)
        _shows_nothing_of(response.content.decode())
    for url in posts:
        response = client.post(url, {"name": "Pwned", "kind": "server", "enabled": "", "scopes": ["events"]})
        assert response.status_code == 403, (url, response.status_code)
        assert "rt_" not in response.content.decode()
    assert list(Source.objects.order_by("pk").values_list("pk", "write_key_hash", "enabled")) == sources_before
    assert list(ReadToken.objects.values_list("pk", "token_hash", "revoked_at")) == tokens_before
    assert not Source.objects.filter(name="Pwned").exists()
    # The read-only source pages (volume, settings) show no key and no payload.
    src = world["source"]
    for url in (reverse("cdp:index"), reverse("cdp:source-detail", args=[src.pk])):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert src.write_key_prefix not in html and "/pricing" not in html and "writeKey" not in html


@pytest.mark.parametrize("role", ["Sales", "Support"])
def test_the_profile_api_takes_no_session(world, role):
    _user, client, _api = attacker(role)
    for endpoint in ("traits", "identifiers", "segments", "events"):
        response = client.get(f"/v1/profiles/email:rita@rival.example/{endpoint}")
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"
        _shows_nothing_of(response.content.decode())


def test_marketing_sees_everything_walked_here(world, marketing_user):
    """The walk's refusals are about who asks: a marketer gets every page above."""
    client = Client()
    client.force_login(marketing_user)
    api = APIClient()
    api.force_authenticate(marketing_user)
    for pk in (world["linked"].pk, world["visitor"].pk):
        for url in profile_urls(pk):
            response = api.get(url) if url.startswith("/api/") else client.get(url)
            assert response.status_code == 200, (url, response.status_code)
    gets, _posts = marketer_only(world)
    for url in gets:
        assert client.get(url).status_code == 200, url
    html = client.get(reverse("cdp:profile-list"), {"q": "visitor-secret"}).content.decode()
    assert reverse("cdp:profile-detail", args=[world["visitor"].pk]) in html
