"""Per-source identity policy (issue 12, the browser key hole): a website or mobile write key is public, so by
default its messages cannot join a real customer's profile by naming their email, phone or external ids; those
stay traits. A server source may; a website source may when it is configured to (Source.identity_keys)."""

from __future__ import annotations

import pytest

from cdp.models import Identifier
from tests.cdp.collect_support import post
from tests.cdp.factories import SourceFactory
from tests.cdp.identity_support import ingest, msg, profile_of, source

pytestmark = pytest.mark.django_db

CUSTOMER = "ceo@customer.example"


@pytest.fixture
def customer():
    """The real customer, known from the business's own server."""
    ingest(source("server"), [msg("identify", minute=0, userId="ceo-1", traits={
        "email": CUSTOMER, "phone": "+14155550123", "plan": "enterprise"},
        context={"externalIds": [{"type": "stripe_customer_id", "id": "cus_CEO", "collection": "users"}]})])
    return profile_of("user_id", "ceo-1")


def _analytics_js_identify(src, **fields) -> dict:
    """The body analytics.js posts from a browser: text/plain, writeKey in the body, its context."""
    context = {"library": {"name": "analytics.js", "version": "next-1.81.0"}, "userAgent": "Mozilla/5.0",
               "page": {"path": "/account", "url": "https://shop.example/account"}}
    # analytics.identify({email: ...}): no user id, so no user id limit stands in the way of a merge.
    return {"type": "identify", "anonymousId": "attacker-browser",
            "traits": {"email": CUSTOMER, "phone": "+1 415 555 0123"}, "context": context | fields.pop("context", {}),
            "messageId": "ajs-evil-1", "timestamp": "2026-11-01T10:01:00.000Z", "integrations": {},
            "sentAt": "2026-11-01T10:01:00.100Z", "writeKey": src.write_key, **fields}


def _send(client, django_capture_on_commit_callbacks, path, body, **kw):
    with django_capture_on_commit_callbacks(execute=True):  # the batch is processed after the commit
        response = post(client, path, body, **kw)
    assert response.status_code == 200, response.content


def test_a_browser_key_cannot_join_a_customer_by_email_phone_or_external_id(
        client, customer, django_capture_on_commit_callbacks):
    website = SourceFactory(kind="website")
    body = _analytics_js_identify(website, context={"externalIds": [
        {"type": "stripe_customer_id", "id": "cus_CEO", "collection": "users", "encoding": "none"}]})
    _send(client, django_capture_on_commit_callbacks, "/v1/i", body, content_type="text/plain;charset=UTF-8")
    mallory = profile_of("anonymous_id", "attacker-browser")
    assert mallory.pk != customer.pk
    assert mallory.traits["email"] == CUSTOMER  # still stored, as a trait
    assert set(Identifier.objects.filter(profile=mallory).values_list("type", "value")) == {
        ("anonymous_id", "attacker-browser")}
    assert profile_of("email", CUSTOMER).pk == customer.pk
    assert not Identifier.objects.filter(profile=customer, value="attacker-browser").exists()


def test_a_mobile_sdk_key_cannot_either(client, customer, django_capture_on_commit_callbacks):
    mobile = SourceFactory(kind="mobile")
    # analytics-ios / analytics-android: a /v1/batch of messages with the device's context.
    batch = {"batch": [{"type": "identify", "anonymousId": "phone-1",
                        "traits": {"email": CUSTOMER}, "messageId": "ios-1",
                        "timestamp": "2026-11-01T10:02:00.000Z",
                        "context": {"library": {"name": "analytics-ios", "version": "4.1.8"},
                                    "device": {"type": "ios"}, "os": {"name": "iOS", "version": "17.1"},
                                    "externalIds": [{"type": "email", "id": CUSTOMER}]}}],
             "sentAt": "2026-11-01T10:02:00.100Z"}
    _send(client, django_capture_on_commit_callbacks, "/v1/batch", batch, key=mobile.write_key)
    assert profile_of("anonymous_id", "phone-1").pk != customer.pk
    assert profile_of("email", CUSTOMER).pk == customer.pk


def test_a_server_sdk_and_a_configured_website_still_join_by_email(
        client, customer, django_capture_on_commit_callbacks):
    server = SourceFactory(kind="server")
    # analytics-python: Basic auth with the write key, JSON body.
    _send(client, django_capture_on_commit_callbacks, "/v1/identify", {
        "type": "identify", "anonymousId": "ceo-server-2", "traits": {"email": CUSTOMER},
        "context": {"library": {"name": "analytics-python", "version": "2.3.3"}},
        "messageId": "py-1", "timestamp": "2026-11-01T10:03:00.000Z"}, key=server.write_key)
    assert profile_of("anonymous_id", "ceo-server-2").pk == customer.pk

    trusted_site = SourceFactory(kind="website", identity_keys=True)
    body = _analytics_js_identify(trusted_site, anonymousId="ceo-browser", messageId="ajs-ok-1")
    _send(client, django_capture_on_commit_callbacks, "/v1/i", body, content_type="text/plain;charset=UTF-8")
    assert profile_of("anonymous_id", "ceo-browser").pk == customer.pk

    closed_server = SourceFactory(kind="server", identity_keys=False)  # a server source may be closed too
    _send(client, django_capture_on_commit_callbacks, "/v1/identify", {
        "type": "identify", "anonymousId": "other-anon", "traits": {"email": CUSTOMER},
        "messageId": "py-2", "timestamp": "2026-11-01T10:04:00.000Z"}, key=closed_server.write_key)
    assert profile_of("anonymous_id", "other-anon").pk != customer.pk
