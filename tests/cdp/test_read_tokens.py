"""Read tokens of the profile API: scopes per endpoint, expiry, rate limit (real Redis), usage recording,
creation and rotation in the CDP pages, admin and command."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cdp.api.profiles import views
from cdp.models import ReadToken, ReadTokenScope
from cdp.services.read_tokens import read_token_create, read_token_pending_uses, read_token_rotate
from tests.cdp.factories import ProfileFactory, ReadTokenFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = {"identifiers": "identifiers", "traits": "traits", "segments": "traits", "events": "events"}


@pytest.fixture(autouse=True)
def _fresh_token_counters():
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match="cdp:rt:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def person():
    return ProfileFactory(identifiers=[("user_id", "42"), ("email", "ann@example.com")],
                          traits={"email": "ann@example.com", "plan": "pro"})


def _get(client, endpoint, raw, ident="user_id:42"):
    return client.get(f"/v1/profiles/{ident}/{endpoint}", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_scope_of_each_endpoint_is_declared_in_one_place():
    assert {name: getattr(views, name).required_scope.value for name in ENDPOINTS} == ENDPOINTS


@pytest.mark.parametrize("scope", [s.value for s in ReadTokenScope])
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_each_scope_is_allowed_or_refused_per_endpoint(client, person, scope, endpoint):
    raw = ReadTokenFactory(scopes=[scope]).raw
    r = _get(client, endpoint, raw)
    if ENDPOINTS[endpoint] == scope:
        assert r.status_code == 200, r.content
        assert r.json()["profile_id"] == person.pk
    else:
        assert r.status_code == 403
        body = r.json()
        assert body["error"] == "insufficient_scope" and ENDPOINTS[endpoint] in body["detail"]
        assert "plan" not in r.content.decode() and "ann@" not in r.content.decode()
        assert f'scope="{ENDPOINTS[endpoint]}"' in r["WWW-Authenticate"]


def test_scope_is_checked_before_the_lookup_so_a_narrow_token_cannot_probe(client, person):
    raw = ReadTokenFactory(scopes=["events"]).raw
    assert _get(client, "traits", raw, ident="email:nobody@example.com").status_code == 403


def test_a_new_token_reads_identifiers_only_by_default(client, person):
    token, raw = read_token_create(name="default")
    assert token.scopes == ["identifiers"]
    assert _get(client, "identifiers", raw).status_code == 200
    for endpoint in ("traits", "segments", "events"):
        assert _get(client, endpoint, raw).status_code == 403
    out = StringIO()
    call_command("createreadtoken", "cli default", stdout=out)
    assert ReadToken.objects.get(name="cli default").scopes == ["identifiers"]
    assert "scopes: identifiers" in out.getvalue()


def test_unknown_scopes_are_refused():
    with pytest.raises(ValueError):
        read_token_create(name="x", scopes=["identifiers", "everything"])


def test_an_expired_token_answers_401_json(client, person):
    token = ReadTokenFactory(scopes=["identifiers"], expires_at=timezone.now() + timedelta(hours=1))
    assert _get(client, "identifiers", token.raw).status_code == 200
    ReadToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = _get(client, "identifiers", token.raw)
    assert r.status_code == 401
    assert r.json()["error"] == "token_expired" and "expired" in r.json()["detail"]
    with pytest.raises(ValueError):
        read_token_create(name="past", expires_at=timezone.now() - timedelta(days=1))


def test_over_the_rate_limit_answers_429_with_retry_after(client, person, settings):
    settings.CDP_READ_TOKEN_REQUESTS_PER_MINUTE = 3
    for _attempt in range(2):  # the window is a clock minute: try again if the requests straddled its end
        token = ReadTokenFactory(scopes=["identifiers"])
        minute = int(time.time()) // 60
        answers = [_get(client, "identifiers", token.raw) for _ in range(5)]
        if int(time.time()) // 60 == minute:
            break
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    refused = answers[-1]
    assert refused.json()["error"] == "rate_limited" and "3 requests per minute" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    other = ReadTokenFactory(scopes=["identifiers"])
    assert _get(client, "identifiers", other.raw).status_code == 200  # per token


def test_a_token_s_own_limit_wins_over_the_default(client, person, settings):
    settings.CDP_READ_TOKEN_REQUESTS_PER_MINUTE = 1
    roomy = ReadTokenFactory(scopes=["identifiers"], requests_per_minute=1000)
    assert all(_get(client, "identifiers", roomy.raw).status_code == 200 for _ in range(5))
    settings.CDP_READ_TOKEN_REQUESTS_PER_MINUTE = 0  # off
    unlimited = ReadTokenFactory(scopes=["identifiers"])
    assert all(_get(client, "identifiers", unlimited.raw).status_code == 200 for _ in range(5))


def test_use_is_recorded_without_a_write_per_request(client, person):
    token = ReadTokenFactory(scopes=["identifiers"])
    assert _get(client, "identifiers", token.raw).status_code == 200
    token.refresh_from_db()
    assert token.use_count == 1 and token.last_used_at is not None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(4):
            assert _get(client, "identifiers", token.raw).status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    token.refresh_from_db()
    assert token.use_count == 1  # the next four wait in Redis until the next flush
    assert read_token_pending_uses([token]) == {token.pk: 4}


def test_use_is_flushed_to_the_row_with_an_increment(client, person, settings):
    settings.CDP_READ_TOKEN_USAGE_FLUSH_SECONDS = 0  # write every use
    token = ReadTokenFactory(scopes=["identifiers"])
    for _ in range(3):
        _get(client, "identifiers", token.raw)
    _get(client, "traits", token.raw)  # refused by scope: still an authenticated use
    token.refresh_from_db()
    assert token.use_count == 4
    assert read_token_pending_uses([token]) == {token.pk: 0}


def test_the_tokens_page_creates_with_scopes_and_expiry_and_shows_the_secret_once(client, marketing_user, person):
    client.force_login(marketing_user)
    r = client.post(reverse("cdp:read-tokens"), {"name": "shop", "scopes": ["traits", "events"],
                                                 "expires_in_days": "30", "requests_per_minute": "100"})
    html = r.content.decode()
    token = ReadToken.objects.get(name="shop")
    assert token.scopes == ["traits", "events"] and token.requests_per_minute == 100
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    raw = html.split('data-testid="new-token"')[1].split("<code>")[1].split("</code>")[0]
    assert raw.startswith("rt_") and token.prefix == raw[:10]
    assert raw not in client.get(reverse("cdp:read-tokens")).content.decode()
    assert _get(client, "traits", raw).status_code == 200
    assert _get(client, "identifiers", raw).status_code == 403

    r = client.post(reverse("cdp:read-token-rotate", args=[token.pk]))
    new = r.content.decode().split('data-testid="new-token"')[1].split("<code>")[1].split("</code>")[0]
    assert new != raw and "rotated" in r.content.decode()
    assert _get(client, "traits", raw).status_code == 401
    assert _get(client, "traits", new).status_code == 200
    token.refresh_from_db()
    assert token.scopes == ["traits", "events"]  # rotation keeps the scopes

    client.post(reverse("cdp:read-tokens"), {"name": "no scope ticked"})
    assert ReadToken.objects.get(name="no scope ticked").scopes == ["identifiers"]


def test_the_tokens_page_is_for_managers_only(sales_client, support_user, client):
    assert sales_client.get(reverse("cdp:read-tokens")).status_code == 403
    token = ReadTokenFactory()
    assert sales_client.post(reverse("cdp:read-token-rotate", args=[token.pk])).status_code == 403
    client.force_login(support_user)
    assert client.post(reverse("cdp:read-token-rotate", args=[token.pk])).status_code == 403


def test_admin_edits_scopes_and_expiry_and_rotates(client, admin_user, person):
    client.force_login(admin_user)
    token = ReadTokenFactory(scopes=["identifiers"])
    url = reverse("admin:cdp_readtoken_change", args=[token.pk])
    assert client.get(url).status_code == 200
    expiry = (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%d")
    r = client.post(url, {"scopes": ["identifiers", "events"], "expires_at_0": expiry, "expires_at_1": "12:00:00",
                          "requests_per_minute": ""})
    assert r.status_code == 302, r.content.decode()[:2000]
    token.refresh_from_db()
    assert token.scopes == ["identifiers", "events"] and token.expires_at is not None
    assert _get(client, "events", token.raw).status_code == 200
    r = client.post(reverse("admin:cdp_readtoken_changelist"),
                    {"action": "rotate_tokens", "_selected_action": [token.pk]}, follow=True)
    assert "not shown again" in r.content.decode()
    assert _get(client, "events", token.raw).status_code == 401


def test_rotation_may_change_scopes_and_refuses_revoked_tokens():
    token, _ = read_token_create(name="r")
    token, _ = read_token_rotate(token=token, scopes=["events"])
    assert ReadToken.objects.get(pk=token.pk).scopes == ["events"]
    token.revoked_at = timezone.now()
    with pytest.raises(ValueError):
        read_token_rotate(token=token)


def test_the_schema_documents_the_scopes():
    from cdp.api.openapi import SECURITY_SCHEMES, profile_paths

    paths = profile_paths()
    for endpoint, scope in ENDPOINTS.items():
        op = paths[f"/v1/profiles/{{ident}}/{endpoint}"]["get"]
        assert op["x-required-scope"] == scope and f"`{scope}`" in op["description"]
        assert {"401", "403", "429"} <= set(op["responses"])
    assert "identifiers" in SECURITY_SCHEMES["readToken"]["description"]
