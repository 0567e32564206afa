"""The /v1 collection API over Django's test client: auth, bodies, limits, batches, CORS, errors."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest

from cdp.models import RawEvent, RejectedMessage
from cdp.services.sources import source_rotate_key
from tests.cdp.collect_support import basic, make_source, post, track

pytestmark = pytest.mark.django_db

PATHS = {
    "identify": ("/v1/identify", "/v1/i", {"userId": "u1", "traits": {"email": "a@b.c"}}),
    "track": ("/v1/track", "/v1/t", {"userId": "u1", "event": "Signed Up"}),
    "page": ("/v1/page", "/v1/p", {"anonymousId": "a1", "name": "Pricing"}),
    "screen": ("/v1/screen", "/v1/s", {"anonymousId": "a1", "name": "Home"}),
    "group": ("/v1/group", "/v1/g", {"userId": "u1", "groupId": "acme"}),
    "alias": ("/v1/alias", "/v1/a", {"userId": "u1", "previousId": "a1"}),
}


def body_json(response):
    return orjson.loads(response.content)


@pytest.fixture
def source(db):
    return make_source()


@pytest.mark.parametrize("kind", list(PATHS))
def test_each_type_on_long_and_short_path(client, source, kind):
    long_path, short_path, message = PATHS[kind]
    r1 = post(client, long_path, message | {"messageId": f"{kind}-1"}, key=source.write_key)
    r2 = post(client, short_path, message | {"messageId": f"{kind}-2"}, key=source.write_key)
    assert (r1.status_code, body_json(r1)) == (200, {"success": True})
    assert r2.status_code == 200
    assert set(RawEvent.objects.values_list("type", "message_id")) == {(kind, f"{kind}-1"), (kind, f"{kind}-2")}


def test_path_decides_the_type(client, source):
    post(client, "/v1/track", {"type": "identify", "userId": "u", "event": "E"}, key=source.write_key)
    assert RawEvent.objects.get().type == "track"


def test_write_key_in_body_with_text_plain(client, source):
    r = post(client, "/v1/t", {"writeKey": source.write_key, "userId": "u", "event": "E"},
             content_type="text/plain;charset=UTF-8")
    assert r.status_code == 200
    assert "writeKey" not in RawEvent.objects.get().payload


def test_batch_write_key_in_first_message(client, source):
    r = post(client, "/v1/b", {"batch": [track(1, writeKey=source.write_key)]})
    assert r.status_code == 200 and RawEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "body_key", "status", "error"),
    [
        ({}, None, 401, "unauthorized"),
        (basic("unknown-key"), None, 401, "unauthorized"),
        ({"HTTP_AUTHORIZATION": "Basic !!!notbase64"}, None, 401, "unauthorized"),
        ({}, "unknown-key", 401, "unauthorized"),
        ({}, 12345, 401, "unauthorized"),
        ({}, "nul\x00key", 401, "unauthorized"),
        (basic("nul\x00key"), None, 401, "unauthorized"),
    ],
)
def test_auth_failures(client, source, headers, body_key, status, error):
    message = {"userId": "u", "event": "E"}
    if body_key is not None:
        message["writeKey"] = body_key
    r = post(client, "/v1/track", message, **headers)
    assert (r.status_code, body_json(r)["error"]) == (status, error)
    assert r["Content-Type"] == "application/json"
    assert RawEvent.objects.count() == 0


def test_disabled_source_is_refused(client):
    source = make_source(enabled=False)
    r = post(client, "/v1/track", {"userId": "u", "event": "E"}, key=source.write_key)
    assert (r.status_code, body_json(r)["error"]) == (403, "source_disabled")
    assert RawEvent.objects.count() == 0


def test_rotated_key_works_during_grace(client, source):
    old = source.write_key
    new = source_rotate_key(source=source)
    assert post(client, "/v1/track", {"userId": "u", "event": "A"}, key=old).status_code == 200
    assert post(client, "/v1/track", {"userId": "u", "event": "B"}, key=new).status_code == 200
    assert RawEvent.objects.filter(source=source).count() == 2


def test_gzip_body(client, source):
    r = post(client, "/v1/batch", {"batch": [track(i) for i in range(50)]}, key=source.write_key, gzipped=True)
    assert (r.status_code, body_json(r)["accepted"]) == (200, 50)
    assert RawEvent.objects.count() == 50


def test_deflate_body(client, source):
    data = zlib.compress(orjson.dumps({"userId": "u", "event": "E"}))
    r = post(client, "/v1/track", data, key=source.write_key, HTTP_CONTENT_ENCODING="deflate")
    assert r.status_code == 200


@pytest.mark.slow  # compresses 200 MiB
def test_decompression_bomb_is_refused_without_inflating_it(client, source):
    bomb = gzip.compress(b"[" + b" " * (200 * 1024 * 1024) + b"]", compresslevel=9)
    assert len(bomb) < 300_000
    r = post(client, "/v1/batch", bomb, key=source.write_key, HTTP_CONTENT_ENCODING="gzip")
    assert (r.status_code, body_json(r)["error"]) == (413, "body_too_large")
    assert RejectedMessage.objects.get().error == "body_too_large"


def test_broken_gzip_is_a_400(client, source):
    r = post(client, "/v1/track", b"\x1f\x8bnot gzip at all", key=source.write_key, HTTP_CONTENT_ENCODING="gzip")
    assert (r.status_code, body_json(r)["error"]) == (400, "invalid_body")
    truncated = gzip.compress(orjson.dumps({"userId": "u", "event": "E"}))[:-12]
    r = post(client, "/v1/track", truncated, key=source.write_key, HTTP_CONTENT_ENCODING="gzip")
    assert (r.status_code, body_json(r)["error"]) == (400, "invalid_body")


@pytest.mark.parametrize(
    ("extra", "status", "error"),
    [
        ({"HTTP_CONTENT_ENCODING": "br"}, 415, "unsupported_encoding"),
        ({"content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ],
)
def test_unsupported_encodings_and_types(client, source, extra, status, error):
    r = post(client, "/v1/track", {"userId": "u", "event": "E"}, key=source.write_key, **extra)
    assert (r.status_code, body_json(r)["error"]) == (status, error)


@pytest.mark.parametrize("raw", [b"{", b"", b"[1, 2]", b'"text"', b"\xff\xfe", b"null"])
def test_malformed_or_non_object_json_is_a_400(client, source, raw):
    r = post(client, "/v1/track", raw, key=source.write_key)
    assert r.status_code == 400 and body_json(r)["error"] in {"invalid_json", "invalid_body"}


@pytest.mark.parametrize(
    ("path", "message", "error"),
    [
        ("/v1/identify", {"traits": {"a": 1}}, "missing_identity"),
        ("/v1/track", {"userId": "u"}, "missing_event"),
        ("/v1/track", {"userId": "u", "event": "E", "messageId": "x" * 101}, "message_id_too_long"),
        ("/v1/group", {"userId": "u"}, "missing_group_id"),
        ("/v1/alias", {"userId": "u"}, "missing_previous_id"),
        ("/v1/track", {"userId": "u", "event": "E", "timestamp": "soon"}, "invalid_timestamp"),
    ],
)
def test_invalid_single_messages_are_400_and_recorded(client, source, path, message, error):
    r = post(client, path, message, key=source.write_key)
    assert (r.status_code, body_json(r)["error"]) == (400, error)
    assert body_json(r)["detail"]
    assert RejectedMessage.objects.get(source=source).error == error
    assert RawEvent.objects.count() == 0


def test_message_id_of_100_characters_is_fine(client, source):
    r = post(client, "/v1/track", {"userId": "u", "event": "E", "messageId": "x" * 100}, key=source.write_key)
    assert r.status_code == 200


def test_event_over_32_kb_is_a_413(client, source):
    r = post(client, "/v1/track", {"userId": "u", "event": "E", "properties": {"x": "y" * 33_000}},
             key=source.write_key)
    assert (r.status_code, body_json(r)["error"]) == (413, "body_too_large")
    near = {"userId": "u", "event": "E", "properties": {"x": "y" * 32_700}}
    r = post(client, "/v1/track", near, key=source.write_key)
    assert (r.status_code, body_json(r)["error"]) == (413, "event_too_large")


def test_big_event_inside_a_batch_is_rejected_alone(client, source):
    batch = [track(1), track(2, properties={"x": "y" * 33_000}), track(3)]
    r = post(client, "/v1/batch", {"batch": batch}, key=source.write_key)
    data = body_json(r)
    assert r.status_code == 200 and data["accepted"] == 2
    assert [(x["index"], x["messageId"], x["error"]) for x in data["rejected"]] == [(1, "msg-2", "event_too_large")]


def test_batch_over_500_kb_is_a_413(client, source):
    batch = [track(i, properties={"pad": "p" * 1000}) for i in range(520)]
    r = post(client, "/v1/batch", {"batch": batch}, key=source.write_key)
    assert (r.status_code, body_json(r)["error"]) == (413, "body_too_large")
    assert RawEvent.objects.count() == 0


def test_batch_over_2500_events_is_a_413(client, source):
    batch = [{"type": "track", "userId": "u", "event": "E"} for _ in range(2501)]
    r = post(client, "/v1/batch", {"batch": batch}, key=source.write_key)
    assert (r.status_code, body_json(r)["error"]) == (413, "too_many_events")
    assert RejectedMessage.objects.get(source=source).error == "too_many_events"  # shown in the debugger
    ok = post(client, "/v1/batch", {"batch": batch[:2500]}, key=source.write_key)
    assert (ok.status_code, body_json(ok)["accepted"]) == (200, 2500)


def test_batch_must_be_a_list(client, source):
    r = post(client, "/v1/batch", {"batch": {"type": "track"}}, key=source.write_key)
    assert (r.status_code, body_json(r)["error"]) == (400, "invalid_body")


def test_batch_partial_acceptance_reports_rejections_by_index(client, source):
    batch = [
        track(1),
        {"type": "track", "userId": "u", "messageId": "no-event"},
        {"type": "identify", "messageId": "no-ids"},
        "junk",
        track(2),
        track(1),
    ]
    r = post(client, "/v1/batch", {"batch": batch, "sentAt": "2026-01-01T10:00:00Z"}, key=source.write_key)
    data = body_json(r)
    assert r.status_code == 200 and data["success"] is True
    assert (data["accepted"], data["duplicates"]) == (3, 1)
    assert [(x["index"], x["messageId"], x["error"]) for x in data["rejected"]] == [
        (1, "no-event", "missing_event"), (2, "no-ids", "missing_identity"), (3, None, "invalid_message")]
    assert sorted(RawEvent.objects.values_list("message_id", flat=True)) == ["msg-1", "msg-2"]
    assert RejectedMessage.objects.filter(source=source).count() == 3


def test_batch_level_context_applies_to_messages_without_one(client, source):
    message = track(1)
    del message["context"]
    post(client, "/v1/batch", {"batch": [message], "context": {"ip": "1.2.3.4"}}, key=source.write_key)
    assert RawEvent.objects.get().payload["context"] == {"ip": "1.2.3.4"}


def test_replayed_request_is_accepted_and_stored_once(client, source):
    payload = {"batch": [track(1), track(2)]}
    for _ in range(3):
        r = post(client, "/v1/batch", payload, key=source.write_key)
        assert r.status_code == 200 and body_json(r)["accepted"] == 2
    assert RawEvent.objects.count() == 2


def test_get_is_405_json(client):
    r = client.get("/v1/track")
    assert (r.status_code, body_json(r)["error"]) == (405, "method_not_allowed")


def test_query_count_of_a_batch_request(client, source, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        r = post(client, "/v1/batch", {"batch": [track(i) for i in range(200)]}, key=source.write_key)
    assert body_json(r)["accepted"] == 200


# --- CORS -----------------------------------------------------------------------------------------------------


def test_preflight_for_an_allowed_origin(client):
    make_source(kind="website", allowed_origins=["https://shop.example.com"])
    r = client.options("/v1/t", HTTP_ORIGIN="https://shop.example.com",
                       HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST", HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert r.status_code == 204
    assert r["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "POST" in r["Access-Control-Allow-Methods"]
    assert "content-type" in r["Access-Control-Allow-Headers"].lower()


def test_preflight_for_an_unknown_origin_gets_no_cors_headers(client):
    make_source(kind="website", allowed_origins=["https://shop.example.com"])
    r = client.options("/v1/t", HTTP_ORIGIN="https://evil.example.net")
    assert r.status_code == 204 and "Access-Control-Allow-Origin" not in r


def test_post_from_allowed_and_wildcard_origins_carries_cors_headers(client):
    source = make_source(kind="website", allowed_origins=["https://*.example.com"])
    r = post(client, "/v1/t", {"writeKey": source.write_key, "anonymousId": "a", "event": "E"},
             content_type="text/plain", HTTP_ORIGIN="https://www.example.com")
    assert r.status_code == 200 and r["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert r["Vary"] == "Origin"


def test_post_from_an_origin_the_source_does_not_allow_is_refused(client):
    source = make_source(kind="website", allowed_origins=["https://shop.example.com"])
    r = post(client, "/v1/t", {"writeKey": source.write_key, "anonymousId": "a", "event": "E"},
             content_type="text/plain", HTTP_ORIGIN="https://evil.example.net")
    assert (r.status_code, body_json(r)["error"]) == (403, "origin_not_allowed")
    assert RawEvent.objects.count() == 0


def test_same_origin_is_always_allowed(client, source):
    r = post(client, "/v1/t", {"writeKey": source.write_key, "anonymousId": "a", "event": "E"},
             HTTP_ORIGIN="http://testserver")
    assert r.status_code == 200 and r["Access-Control-Allow-Origin"] == "http://testserver"
