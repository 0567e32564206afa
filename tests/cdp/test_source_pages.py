"""CDP pages: sources list with volume chart, create, detail (keys, settings, snippet), debugger, access."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cdp.models import Source
from cdp.selectors.source_pages import sources_hourly_volume
from cdp.services.ingest import events_ingest
from cdp.services.sources import source_create, source_for_write_key
from tests.cdp.test_email_mapping import make_sendgrid_keys
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketing_client(client, marketing_user):
    client.force_login(marketing_user)
    return client


@pytest.fixture
def website():
    return source_create(name="Shop website", kind=Source.Kind.WEBSITE, allowed_origins=["https://shop.test"])


def track(n, **extra):
    return {"type": "track", "event": "Viewed", "userId": f"u{n}", "messageId": f"m{n}", **extra}


# --- access ------------------------------------------------------------------------------------------------


def test_anonymous_goes_to_login(client, website):
    for url in (reverse("cdp:index"), reverse("cdp:source-detail", args=[website.pk]),
                reverse("cdp:source-debugger", args=[website.pk]), reverse("cdp:imports")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_users_without_a_role_are_refused(client, website):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(reverse("cdp:index")).status_code == 403
    assert client.get(reverse("cdp:source-detail", args=[website.pk])).status_code == 403


@pytest.mark.parametrize("role", ["Sales", "Support"])
def test_sales_and_support_read_without_keys_or_payloads(client, website, role):
    client.force_login(UserFactory(username=f"reader-{role}", role=role))
    listing = client.get(reverse("cdp:index")).content.decode()
    assert "Shop website" in listing and 'data-testid="volume-totals"' in listing
    assert website.key_hint not in listing and "New source" not in listing
    detail = client.get(reverse("cdp:source-detail", args=[website.pk]))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert website.write_key not in body and "https://shop.test" in body and "Rotate key" not in body
    for name in ("cdp:source-debugger", "cdp:source-debugger-feed", "cdp:source-try"):
        assert client.get(reverse(name, args=[website.pk])).status_code == 403
    assert client.post(reverse("cdp:source-rotate", args=[website.pk])).status_code == 403
    assert client.post(reverse("cdp:source-end-grace", args=[website.pk])).status_code == 403
    assert client.post(reverse("cdp:source-detail", args=[website.pk]), {"enabled": ""}).status_code == 403
    assert client.get(reverse("cdp:source-new")).status_code == 403
    website.refresh_from_db()
    assert website.enabled


# --- list and chart ----------------------------------------------------------------------------------------


def test_hourly_volume_is_one_query_over_accepted_and_rejected(website, django_assert_num_queries):
    now = timezone.now()
    two_hours_ago = now - timedelta(hours=2)
    events_ingest(source=website, messages=[track(1), track(2)], received_at=two_hours_ago)
    events_ingest(source=website, messages=[track(3), {"type": "track", "userId": "x"}], received_at=now)
    events_ingest(source=website, messages=[track(4)], received_at=now - timedelta(hours=30))  # too old
    with django_assert_num_queries(1):
        volume = sources_hourly_volume(hours=24, now=now)
    series = volume[website.pk]
    assert len(series) == 24
    assert series[-1].hour == now.replace(minute=0, second=0, microsecond=0)
    assert (series[-1].accepted, series[-1].rejected) == (1, 1)
    assert (series[-3].accepted, series[-3].rejected) == (2, 0)
    assert sum(v.accepted for v in series) == 3


def test_list_shows_kind_status_masked_key_and_chart(marketing_client, website, django_assert_max_num_queries):
    events_ingest(source=website, messages=[track(1), track(2), {"type": "track", "userId": "x"}])
    for n in range(5):
        source_create(name=f"Server {n}", kind=Source.Kind.SERVER, enabled=n != 0)
    with django_assert_max_num_queries(6):
        response = marketing_client.get(reverse("cdp:index"))
    body = response.content.decode()
    assert body.count('data-testid="source-row"') == 6
    assert website.key_hint in body and website.write_key[:6] == website.write_key_prefix
    assert website.write_key not in body
    assert 'data-accepted="2" data-rejected="1"' in body
    assert "Website" in body and "Disabled" in body


def test_detail_chart_has_axis_titles_and_its_numbers_in_a_table(marketing_client, website):
    events_ingest(source=website, messages=[track(1), track(2), {"type": "track", "userId": "x"}])
    body = marketing_client.get(reverse("cdp:source-detail", args=[website.pk])).content.decode()
    start = body.index('<script type="application/json" id="chart-')
    figure = json.loads(body[start:].split(">", 1)[1].split("</script>", 1)[0])
    assert figure["layout"]["xaxis"]["title"]["text"] == "Hour (UTC)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "Events"
    assert [t["name"] for t in figure["data"]] == ["Accepted", "Rejected"]
    assert len(figure["data"][0]["x"]) == 24 and figure["data"][0]["y"][-1] == 2 and figure["data"][1]["y"][-1] == 1
    assert "<th scope=\"col\">Hour (UTC)</th><th scope=\"col\">Accepted</th><th scope=\"col\">Rejected</th>" in body
    assert body.count("<tr><td>") >= 24
    assert 'data-accepted="2" data-rejected="1"' in body


def test_empty_list(marketing_client):
    body = marketing_client.get(reverse("cdp:index")).content.decode()
    assert "No sources yet" in body and "Create the first source" in body


# --- create and detail -------------------------------------------------------------------------------------


def test_create_source_and_form_errors(marketing_client, website):
    response = marketing_client.post(reverse("cdp:source-new"), {
        "name": "Landing pages", "kind": "website", "allowed_origins": "https://a.test\nhttps://b.test/",
        "rate_limit_per_second": "50"})
    source = Source.objects.get(name="Landing pages")
    assert response.status_code == 200
    assert source.allowed_origins == ["https://a.test", "https://b.test"] and source.rate_limit_per_second == 50
    # The key is shown once, in this answer (with the snippet), and only its hash is stored.
    shown = response.context["new_key"]
    assert len(shown) >= 20 and shown in response.content.decode() and source_for_write_key(shown) == source
    assert shown not in str(Source.objects.filter(pk=source.pk).values().get())
    later = marketing_client.get(reverse("cdp:source-detail", args=[source.pk])).content.decode()
    assert shown not in later and source.key_hint in later

    duplicate = marketing_client.post(reverse("cdp:source-new"), {"name": "shop WEBSITE", "kind": "server"})
    assert duplicate.status_code == 400 and "exists already" in duplicate.content.decode()
    bad_origin = marketing_client.post(reverse("cdp:source-new"), {"name": "X", "kind": "website",
                                                                   "allowed_origins": "shop.test/path"})
    assert bad_origin.status_code == 400 and "is not an origin" in bad_origin.content.decode()
    crm = marketing_client.post(reverse("cdp:source-new"), {"name": "Y", "kind": "crm"})
    assert crm.status_code == 400
    assert Source.objects.count() == 2


def test_detail_shows_snippet_for_website_sources(marketing_client, website):
    body = marketing_client.get(reverse("cdp:source-detail", args=[website.pk])).content.decode()
    assert 'data-testid="snippet"' in body
    assert 'a.load("YOUR_WRITE_KEY",{apiHost:"http://testserver"})' in body and website.write_key not in body
    assert "http://testserver/static/js/tracker.js" in body
    assert reverse("cdp:source-try", args=[website.pk]) in body
    url = reverse("cdp:source-try", args=[website.pk])
    asks = marketing_client.get(url).content.decode()
    assert 'data-testid="try-key-form"' in asks and "tracker-demo.js" not in asks
    wrong = marketing_client.post(url, {"write_key": "not-the-key"})
    assert wrong.status_code == 400 and "not a current write key" in wrong.content.decode()
    try_page = marketing_client.post(url, {"write_key": website.write_key}).content.decode()
    assert f'data-write-key="{website.write_key}"' in try_page and "tracker-demo.js" in try_page


def test_rotate_key_keeps_old_key_for_the_grace_period(marketing_client, website):
    old_key = website.write_key
    response = marketing_client.post(reverse("cdp:source-rotate", args=[website.pk]))
    new_key = response.context["new_key"]
    website.refresh_from_db()
    assert new_key != old_key and website.previous_key_prefix == old_key[:6]
    assert source_for_write_key(old_key) == website and source_for_write_key(new_key) == website
    body = response.content.decode()
    assert "New write key issued" in body and 'data-testid="grace"' in body and new_key in body
    assert f'a.load("{new_key}"' in body
    assert new_key not in marketing_client.get(reverse("cdp:source-detail", args=[website.pk])).content.decode()
    assert marketing_client.get(reverse("cdp:source-rotate", args=[website.pk])).status_code == 405
    # The grace period can be ended at once: the old key stops, the new one goes on.
    assert marketing_client.post(reverse("cdp:source-end-grace", args=[website.pk])).status_code == 302
    assert source_for_write_key(old_key) is None and source_for_write_key(new_key) == website
    body = marketing_client.get(reverse("cdp:source-detail", args=[website.pk])).content.decode()
    assert 'data-testid="grace"' not in body


def test_settings_edit(marketing_client, website):
    url = reverse("cdp:source-detail", args=[website.pk])
    response = marketing_client.post(url, {"allowed_origins": "https://new.test\n*", "rate_limit_per_second": "7"})
    assert response.status_code == 302
    website.refresh_from_db()
    assert (website.enabled, website.allowed_origins, website.rate_limit_per_second) == (
        False, ["https://new.test", "*"], 7)
    bad = marketing_client.post(url, {"enabled": "on", "allowed_origins": "ftp://x", "rate_limit_per_second": "0"})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert "is not an origin" in body and "greater than or equal to 1" in body
    website.refresh_from_db()
    assert website.rate_limit_per_second == 7


def test_email_source_keys_and_webhook_urls(marketing_client):
    source = source_create(name="Mail", kind=Source.Kind.EMAIL)
    url = reverse("cdp:source-detail", args=[source.pk])
    body = marketing_client.get(url).content.decode()
    assert f"http://testserver/cdp/hooks/email/{source.pk}/sendgrid" in body
    assert f"http://testserver/cdp/hooks/email/{source.pk}/mailgun" in body and "No key yet" in body
    bad = marketing_client.post(url, {"enabled": "on", "sendgrid_public_key": "bm90IGEga2V5"})
    assert bad.status_code == 400 and "not an elliptic-curve public key" in bad.content.decode()
    _, public_b64 = make_sendgrid_keys()
    wrapped = "\n".join(public_b64[i:i + 40] for i in range(0, len(public_b64), 40))
    assert marketing_client.post(url, {"enabled": "on", "sendgrid_public_key": wrapped,
                                       "mailgun_signing_key": " mg-key "}).status_code == 302
    source.refresh_from_db()
    assert source.settings == {"sendgrid_public_key": public_b64, "mailgun_signing_key": "mg-key"}
    # Saving again with the secrets left empty keeps them.
    assert marketing_client.post(url, {"enabled": "on"}).status_code == 302
    source.refresh_from_db()
    assert source.settings["mailgun_signing_key"] == "mg-key"
    assert "mg-key" not in marketing_client.get(url).content.decode()


# --- debugger ----------------------------------------------------------------------------------------------


def test_debugger_shows_accepted_and_rejected_with_reasons(marketing_client, website,
                                                          django_assert_max_num_queries):
    events_ingest(source=website, messages=[track(1, properties={"plan": "pro"}),
                                            {"type": "track", "userId": "u9", "messageId": "bad-1"}])
    page = marketing_client.get(reverse("cdp:source-debugger", args=[website.pk])).content.decode()
    assert 'hx-trigger="every 2s' in page and reverse("cdp:source-debugger-feed", args=[website.pk]) in page
    with django_assert_max_num_queries(6):
        feed = marketing_client.get(reverse("cdp:source-debugger-feed", args=[website.pk]))
    body = feed.content.decode()
    assert body.count('data-testid="debug-entry"') == 2
    assert 'data-status="accepted" data-message-id="m1"' in body
    assert 'data-status="rejected" data-message-id="bad-1"' in body
    assert '&quot;plan&quot;: &quot;pro&quot;' in body  # pretty-printed JSON, escaped
    assert 'data-testid="reason"' in body


def test_debugger_empty_and_other_sources_hidden(marketing_client, website):
    other = source_create(name="Other", kind=Source.Kind.SERVER)
    events_ingest(source=other, messages=[track(1)])
    body = marketing_client.get(reverse("cdp:source-debugger-feed", args=[website.pk])).content.decode()
    assert 'data-testid="debug-empty"' in body
    assert marketing_client.get(reverse("cdp:source-debugger", args=[999999])).status_code == 404


def test_admin_manages_too(client, admin_user, website):
    client.force_login(admin_user)
    assert "New source" in client.get(reverse("cdp:index")).content.decode()
    assert client.get(reverse("cdp:source-debugger", args=[website.pk])).status_code == 200
