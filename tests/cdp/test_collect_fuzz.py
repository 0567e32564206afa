"""Property-based: arbitrary bodies and headers thrown at the collection endpoints never produce a 500."""

from __future__ import annotations

import gzip

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.models import Source
from cdp.models.sources import write_key_hash
from tests.cdp.collect_support import basic

pytestmark = pytest.mark.django_db

PATHS = ["/v1/identify", "/v1/track", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias", "/v1/batch",
         "/v1/i", "/v1/t", "/v1/p", "/v1/s", "/v1/g", "/v1/a", "/v1/b"]
KEY = "fuzz-write-key-0123456789"

TRICKY = ["", "\x00", "2026-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "x" * 120,
          "track", "identify"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40), st.sampled_from(TRICKY),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=20)
write_keys = st.one_of(st.just(KEY), st.text(max_size=70), st.just("a\x00b"), json_values)
field_names = st.sampled_from(["type", "userId", "anonymousId", "event", "name", "properties", "traits", "context",
                               "integrations", "groupId", "previousId", "messageId", "timestamp",
                               "originalTimestamp", "sentAt", "writeKey"])
messages = st.dictionaries(field_names, json_values, max_size=10) | st.builds(
    lambda m, k: m | {"writeKey": k}, st.dictionaries(field_names, json_values, max_size=6), write_keys)
objects = st.one_of(
    messages,
    st.builds(lambda batch, sent: {"batch": batch, "sentAt": sent}, st.lists(st.one_of(messages, json_values),
              max_size=6), json_values),
    st.dictionaries(st.text(max_size=8), json_values, max_size=5),
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    objects.map(lambda o: orjson.dumps(o, option=orjson.OPT_NON_STR_KEYS)),
)
headers = st.fixed_dictionaries({}, optional={
    "HTTP_CONTENT_ENCODING": st.sampled_from(["gzip", "deflate", "br", "identity", "", "GZIP", "x-gzip", "zstd"]),
    "HTTP_ORIGIN": st.one_of(st.text(max_size=30), st.sampled_from(["https://shop.example.com", "null", "http://["])),
    "HTTP_AUTHORIZATION": st.one_of(st.text(max_size=30), st.just(basic(KEY)["HTTP_AUTHORIZATION"]),
                                    st.sampled_from(["Basic ", "Basic =", "Bearer x", "Basic w6k="])),
    "CONTENT_LENGTH": st.sampled_from(["abc", "-1", "99999999999"]),
})
content_types = st.sampled_from(["application/json", "text/plain", "text/plain; charset=utf-8", "", "text/html",
                                 "application/json; charset=latin-1", "multipart/form-data; boundary=x"])


@pytest.fixture
def fuzz_source(db):
    return Source.objects.create(name="Fuzz", kind="website", write_key_hash=write_key_hash(KEY),
                                 write_key_prefix=KEY[:6], allowed_origins=["*"])


@pytest.mark.slow  # 300 requests against the database
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), body=bodies, extra=headers, content_type=content_types,
       compress=st.booleans(), key_in_body=st.booleans())
def test_arbitrary_requests_never_500(client, fuzz_source, path, body, extra, content_type, compress, key_in_body):
    if key_in_body and body.startswith(b"{") and body.endswith(b"}"):
        prefix = b'{"writeKey":"' + KEY.encode() + b'"'
        body = prefix + b"," + body[1:] if len(body) > 2 else prefix + b"}"
    if compress:
        body = gzip.compress(body)
        extra.setdefault("HTTP_CONTENT_ENCODING", "gzip")
    response = client.generic("POST", path, body, content_type=content_type, **extra)
    assert response.status_code < 500, response.content
    data = orjson.loads(response.content)
    if response.status_code == 200:
        assert data["success"] is True
    else:
        assert set(data) >= {"error", "detail"}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), origin=st.text(max_size=40), method=st.sampled_from(["OPTIONS", "GET", "PUT"]))
def test_other_methods_never_500(client, fuzz_source, path, origin, method):
    response = client.generic(method, path, b"", HTTP_ORIGIN=origin)
    assert response.status_code in (204, 405)
