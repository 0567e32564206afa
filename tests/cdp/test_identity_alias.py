"""alias: previousId names an anonymous id (a server-side alias from the Python SDKs) or a user id (analytics.js in
the browser); it resolves to whichever identifier already exists, the anonymous id first when both could match."""

from __future__ import annotations

import pytest
import rudderstack.analytics as rudder_analytics
import rudderstack.analytics.request as rudder_request
import segment.analytics.request as segment_request
from segment.analytics import Client as SegmentClient

from cdp.models import Identifier, Profile, RawEvent
from tests.cdp.collect_support import post
from tests.cdp.factories import ProfileFactory, SourceFactory
from tests.cdp.identity_support import event_profile, ingest, msg, profile_of


def identifiers_of(profile: Profile) -> set[tuple[str, str]]:
    return set(profile.identifiers.values_list("type", "value"))


def live_profiles() -> int:
    return Profile.objects.filter(merged_into__isnull=True).count()


@pytest.mark.django_db
def test_server_side_alias_joins_the_anonymous_history_to_the_user():
    src = SourceFactory()
    pages = [msg("page", minute=i, anonymousId="anon-7") for i in range(3)]
    ingest(src, pages)
    ingest(src, [msg("identify", minute=5, userId="u7", traits={"email": "u7@example.com"})])
    ingest(src, [msg("alias", minute=6, userId="u7", previousId="anon-7")])
    person = profile_of("user_id", "u7")
    assert identifiers_of(person) == {("user_id", "u7"), ("anonymous_id", "anon-7"), ("email", "u7@example.com")}
    assert {event_profile(m["messageId"]) for m in pages} == {person.pk}
    assert not Identifier.objects.filter(type="user_id", value="anon-7").exists()
    assert live_profiles() == 1


@pytest.mark.django_db
def test_server_side_alias_in_the_same_batch_as_the_anonymous_events():
    src = SourceFactory()
    page = msg("page", minute=0, anonymousId="anon-8")
    ingest(src, [msg("alias", minute=2, userId="u8", previousId="anon-8"), page,
                 msg("identify", minute=1, userId="u8")])
    person = profile_of("user_id", "u8")
    assert identifiers_of(person) == {("user_id", "u8"), ("anonymous_id", "anon-8")}
    assert event_profile(page["messageId"]) == person.pk


@pytest.mark.django_db
def test_browser_alias_joins_the_previous_user_id():
    """analytics.js: previousId is the old user id, the browser's anonymous id travels in its own field."""
    src = SourceFactory(kind="website")
    ingest(src, [msg("identify", minute=0, anonymousId="dev-1", userId="old-login", traits={"name": "Ann"})])
    ingest(src, [msg("alias", minute=1, anonymousId="dev-1", userId="new-login", previousId="old-login")])
    person = profile_of("user_id", "new-login")
    assert identifiers_of(person) == {("user_id", "old-login"), ("user_id", "new-login"),
                                      ("anonymous_id", "dev-1")}
    assert person.traits["name"] == "Ann"
    assert not Identifier.objects.filter(type="anonymous_id", value="old-login").exists()


@pytest.mark.django_db
def test_previous_id_known_as_both_prefers_the_anonymous_id():
    anonymous = ProfileFactory(identifiers=[("anonymous_id", "x-1")])
    user = ProfileFactory(identifiers=[("user_id", "x-1")])
    ingest(SourceFactory(), [msg("alias", minute=2, userId="someone", previousId="x-1")])
    assert profile_of("user_id", "someone").pk == profile_of("anonymous_id", "x-1").pk == anonymous.pk
    assert profile_of("user_id", "x-1").pk == user.pk  # not joined: previousId was the anonymous id


@pytest.mark.django_db
def test_unknown_previous_id_is_a_user_id():
    src = SourceFactory()
    ingest(src, [msg("alias", minute=0, userId="fresh", previousId="legacy-42")])
    person = profile_of("user_id", "fresh")
    assert identifiers_of(person) == {("user_id", "fresh"), ("user_id", "legacy-42")}


@pytest.mark.django_db
def test_analytics_js_alias_body_from_the_browser(client, django_capture_on_commit_callbacks):
    """The body analytics.js posts from a browser (text/plain, writeKey in the body, sentAt, its context), on a
    website source configured to let emails join profiles."""
    src = SourceFactory(kind="website", identity_keys=True)
    context = {"library": {"name": "analytics.js", "version": "next-1.81.0"},
               "page": {"path": "/pricing", "url": "https://shop.example/pricing"}, "userAgent": "Mozilla/5.0"}
    page = {"type": "page", "anonymousId": "ajs-anon-1", "properties": {"path": "/pricing"}, "context": context,
            "messageId": "ajs-next-1", "timestamp": "2026-11-01T10:00:00.000Z", "integrations": {},
            "sentAt": "2026-11-01T10:00:00.100Z", "writeKey": src.write_key}
    identify = page | {"type": "identify", "userId": "old-login", "traits": {"email": "ann@example.com"},
                       "messageId": "ajs-next-2", "timestamp": "2026-11-01T10:01:00.000Z"}
    alias = page | {"type": "alias", "previousId": "old-login", "userId": "new-login",
                    "messageId": "ajs-next-3", "timestamp": "2026-11-01T10:02:00.000Z"}
    for path, body in (("/v1/p", page), ("/v1/i", identify), ("/v1/a", alias)):
        with django_capture_on_commit_callbacks(execute=True):  # the batch is processed after the commit
            response = post(client, path, body, content_type="text/plain;charset=UTF-8")
        assert response.status_code == 200, response.content
    person = profile_of("user_id", "new-login")
    assert identifiers_of(person) == {("user_id", "old-login"), ("user_id", "new-login"),
                                      ("anonymous_id", "ajs-anon-1"), ("email", "ann@example.com")}
    assert RawEvent.objects.filter(profile_links__profile_id=person.pk).count() == 3


@pytest.fixture
def _close_sdk_connections():
    yield
    segment_request._session.close()
    rudder_request._session.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("one_batch", [False, True], ids=["request-each", "one-batch"])
def test_segment_python_sdk_server_side_alias(live_server, _close_sdk_connections, one_batch):
    src = SourceFactory()
    errors = []
    client = SegmentClient(src.write_key, host=live_server.url, max_retries=1, sync_mode=not one_batch,
                           on_error=lambda e, batch: errors.append(e))
    client.page(anonymous_id="web-anon-1", name="Pricing", properties={"url": "https://example.com/pricing"})
    client.track(anonymous_id="web-anon-1", event="Signup Started")
    client.identify("user-42", {"email": "ann@example.com"})
    client.alias("web-anon-1", "user-42")  # (previous_id, user_id): no anonymousId in the message
    if one_batch:
        client.flush()
        client.shutdown()
    assert errors == []
    alias = RawEvent.objects.get(source=src, type="alias").payload
    assert alias["previousId"] == "web-anon-1" and alias["userId"] == "user-42" and not alias.get("anonymousId")
    person = profile_of("user_id", "user-42")
    assert identifiers_of(person) == {("user_id", "user-42"), ("anonymous_id", "web-anon-1"),
                                      ("email", "ann@example.com")}
    assert RawEvent.objects.filter(source=src, profile_links__profile_id=person.pk).count() == 4
    assert live_profiles() == 1


@pytest.mark.django_db(transaction=True)
def test_rudder_python_sdk_server_side_alias(live_server, _close_sdk_connections):
    src = SourceFactory()
    errors = []
    rudder_analytics.write_key = src.write_key
    rudder_analytics.dataPlaneUrl = live_server.url
    rudder_analytics.on_error = lambda e, batch: errors.append(e)
    rudder_analytics.max_retries = 1
    rudder_analytics.sync_mode = True
    rudder_analytics.default_client = None
    try:
        rudder_analytics.page(anonymous_id="rs-anon-1", name="Docs")
        rudder_analytics.identify("user-77", {"plan": "pro"})
        rudder_analytics.alias("rs-anon-1", "user-77")
    finally:
        rudder_analytics.sync_mode = False
        rudder_analytics.default_client = None
    assert errors == []
    person = profile_of("user_id", "user-77")
    assert identifiers_of(person) == {("user_id", "user-77"), ("anonymous_id", "rs-anon-1")}
    assert person.traits["plan"] == "pro"
    assert RawEvent.objects.filter(source=src, profile_links__profile_id=person.pk).count() == 3
