"""The profile API: read tokens, lookup by any identifier, events paging, JSON errors."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import call_command

from cdp.extensions import _segment_providers, register_profile_segment_provider
from cdp.models import ReadToken
from cdp.services.read_tokens import read_token_create, read_token_revoke
from tests.cdp.factories import ProfileFactory, ReadTokenFactory
from tests.cdp.identity_support import ingest, msg, source

pytestmark = pytest.mark.django_db


@pytest.fixture
def person():
    src = source()
    ingest(src, [msg("page", minute=i, anonymousId="ph-dev", properties={"n": i}) for i in range(7)])
    ingest(src, [msg("identify", minute=10, anonymousId="ph-dev", userId="42",
                     traits={"email": "Ann@Example.com", "plan": "pro"})])


@pytest.fixture
def token():
    return ReadTokenFactory(name="website", scopes=["identifiers", "traits", "events"]).raw


def _get(client, path, token=None, **headers):
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(path, **headers)


@pytest.mark.parametrize("ident", ["user_id:42", "email:ann@example.com", "email:ANN@example.com",
                                   "anonymous_id:ph-dev"])
def test_any_identifier_gives_the_same_traits(client, person, token, ident):
    r = _get(client, f"/v1/profiles/{ident}/traits", token)
    assert r.status_code == 200
    body = r.json()
    assert body["traits"] == {"email": "Ann@Example.com", "plan": "pro"}
    again = _get(client, "/v1/profiles/user_id:42/traits", token).json()
    assert body == again


def test_identifiers_and_segments(client, person, token):
    body = _get(client, "/v1/profiles/user_id:42/identifiers", token).json()
    assert {(i["type"], i["value"]) for i in body["identifiers"]} == {
        ("user_id", "42"), ("email", "ann@example.com"), ("anonymous_id", "ph-dev")}
    assert _get(client, "/v1/profiles/user_id:42/segments", token).json()["segments"] == []

    def provider(profile_id):
        return [{"name": "Pro users", "id": 1}]

    register_profile_segment_provider(provider)
    try:
        assert _get(client, "/v1/profiles/email:ann@example.com/segments", token).json()["segments"] == [
            {"name": "Pro users", "id": 1}]
    finally:
        _segment_providers.remove(provider)


def test_events_are_paginated_newest_first(client, person, token, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        first = _get(client, "/v1/profiles/user_id:42/events?limit=3", token).json()
    assert [e["type"] for e in first["data"]] == ["identify", "page", "page"]
    assert first["data"][1]["properties"] == {"n": 6}
    seen = [e["id"] for e in first["data"]]
    cursor = first["cursor"]["next"]
    while cursor:
        page = _get(client, f"/v1/profiles/user_id:42/events?limit=3&cursor={cursor}", token).json()
        seen += [e["id"] for e in page["data"]]
        cursor = page["cursor"]["next"]
    assert len(seen) == len(set(seen)) == 8


def test_errors_are_json(client, person, token):
    r = _get(client, "/v1/profiles/user_id:nobody/traits", token)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = _get(client, "/v1/profiles/user_id:42/traits")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = _get(client, "/v1/profiles/user_id:42/traits", "rt_wrong")
    assert r.status_code == 401
    r = _get(client, "/v1/profiles/nocolon/traits", token)
    assert r.status_code == 400 and r.json()["error"] == "bad_identifier"
    r = _get(client, "/v1/profiles/user_id:42/events?limit=0", token)
    assert r.status_code == 400
    r = _get(client, "/v1/profiles/user_id:42/events?cursor=%%%", token)
    assert r.status_code == 400
    assert client.post("/v1/profiles/user_id:42/traits", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405


def test_basic_auth_and_revocation(client, person):
    t, raw = read_token_create(name="app", scopes=["traits"])
    basic = base64.b64encode(f"{raw}:".encode()).decode()
    assert client.get("/v1/profiles/user_id:42/traits", HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 200
    read_token_revoke(token=t)
    assert client.get("/v1/profiles/user_id:42/traits", HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 401


def test_createreadtoken_prints_the_token_last(client, person):
    out = StringIO()
    call_command("createreadtoken", "mobile app", "--scope", "traits", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ReadToken.objects.get(name="mobile app").token_hash != raw
    assert _get(client, "/v1/profiles/user_id:42/traits", raw).status_code == 200


def test_an_external_id_finds_its_profile(client, token):
    person = ProfileFactory(identifiers=[("user_id", "7"), ("stripe_customer", "cus_9")], traits={"plan": "team"})
    ProfileFactory()  # someone else
    body = _get(client, "/v1/profiles/stripe_customer:cus_9/traits", token).json()
    assert (body["profile_id"], body["traits"]) == (person.pk, {"plan": "team"})
    identifiers = _get(client, "/v1/profiles/user_id:7/identifiers", token).json()["identifiers"]
    assert {(i["type"], i["value"]) for i in identifiers} == {("user_id", "7"), ("stripe_customer", "cus_9")}
