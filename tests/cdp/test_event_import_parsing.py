"""CSV → messages for imports (pure functions)."""

from __future__ import annotations

import io

import pytest

from cdp.services.email_webhooks import email_anonymous_id
from cdp.services.import_parsing import (
    EVENTS,
    PROFILES,
    MappingError,
    RowError,
    coerce_value,
    csv_headers,
    csv_rows,
    csv_text_stream,
    mapping_parse_pairs,
    mapping_suggest,
    mapping_validate,
    parse_timestamp,
    row_to_message,
    rows_to_messages,
)


def test_suggest_mapping_recognises_common_headers():
    headers = ["user_id", "Email", "event_name", "time", "plan", "Amount (USD)"]
    assert mapping_suggest(headers=headers, kind=EVENTS) == {
        "user_id": "userId", "Email": "email", "event_name": "event", "time": "timestamp",
        "plan": "properties.plan", "Amount (USD)": "properties.Amount_USD",
    }
    suggested = mapping_suggest(headers=["email", "event", "plan"], kind=PROFILES)
    assert suggested == {"email": "email", "event": "traits.event", "plan": "traits.plan"}


@pytest.mark.parametrize("mapping,kind,message", [
    ({"a": "properties.x"}, EVENTS, "map at least one of userId"),
    ({"a": "userId"}, EVENTS, "needs a column mapped to event"),
    ({"a": "userId", "b": "userId", "c": "event"}, EVENTS, "two columns are mapped to userId"),
    ({"a": "userId", "b": "event"}, PROFILES, "no event column"),
    ({"a": "userId", "b": "properties.x"}, PROFILES, "not properties"),
    ({"a": "userId", "b": "traits."}, PROFILES, "needs a name"),
    ({"a": "userId", "b": "colour"}, PROFILES, "unknown field 'colour'"),
    ({"a": "userId"}, "people", "kind must be one of"),
])
def test_mapping_validation_errors(mapping, kind, message):
    with pytest.raises(MappingError, match=message):
        mapping_validate(mapping=mapping, kind=kind)


def test_mapping_validation_drops_ignored_columns_and_checks_headers():
    assert mapping_validate(mapping={"a": "userId", "b": "", "c": "traits.x"}, kind=PROFILES) == {
        "a": "userId", "c": "traits.x"}
    with pytest.raises(MappingError, match="not in the file"):
        mapping_validate(mapping={"zz": "userId"}, kind=PROFILES, headers=["a"])


def test_parse_pairs():
    assert mapping_parse_pairs(["id=userId", "plan=traits.plan", "skip="]) == {
        "id": "userId", "plan": "traits.plan", "skip": ""}
    with pytest.raises(MappingError):
        mapping_parse_pairs(["nonsense"])


@pytest.mark.parametrize("raw,value", [
    ("true", True), ("FALSE", False), ("42", 42), ("-7", -7), ("3.50", 3.5), ("01234", "01234"),
    ("+15551234", "+15551234"), (" hello ", "hello"), ("1e5", "1e5"),
])
def test_coerce(raw, value):
    assert coerce_value(raw) == value


def test_timestamps():
    assert parse_timestamp("2024-03-01T10:00:00Z") == "2024-03-01T10:00:00+00:00"
    assert parse_timestamp("2024-03-01 10:00") == "2024-03-01T10:00:00+00:00"
    assert parse_timestamp("1700000000") == "2023-11-14T22:13:20+00:00"
    assert parse_timestamp("1700000000000") == "2023-11-14T22:13:20+00:00"
    with pytest.raises(RowError) as exc:
        parse_timestamp("yesterday")
    assert exc.value.code == "invalid_timestamp"


def test_profile_row_becomes_identify():
    mapping = {"id": "userId", "mail": "email", "plan": "traits.plan", "seats": "traits.seats", "x": "traits.x"}
    msg = row_to_message({"id": "u1", "mail": "Ann@X.test", "plan": "pro", "seats": "5", "x": ""},
                         mapping=mapping, kind=PROFILES, message_id="import-1-1")
    assert msg["type"] == "identify" and msg["userId"] == "u1" and "anonymousId" not in msg
    assert msg["traits"] == {"plan": "pro", "seats": 5, "email": "ann@x.test"}
    assert msg["messageId"] == "import-1-1"
    assert msg["context"]["externalIds"][0]["id"] == "ann@x.test"


def test_event_row_becomes_track_and_email_only_rows_get_the_email_identity():
    mapping = {"mail": "email", "ev": "event", "at": "timestamp", "total": "properties.total",
               "plan": "traits.plan"}
    msg = row_to_message({"mail": "bo@x.test", "ev": "Order Completed", "at": "2024-01-01", "total": "9.99",
                          "plan": "free"}, mapping=mapping, kind=EVENTS, message_id="m")
    assert msg["type"] == "track" and msg["event"] == "Order Completed"
    assert msg["anonymousId"] == email_anonymous_id("bo@x.test") and "userId" not in msg
    assert msg["properties"] == {"total": 9.99}
    assert msg["context"]["traits"] == {"plan": "free", "email": "bo@x.test"}
    assert msg["timestamp"] == "2024-01-01T00:00:00+00:00"


@pytest.mark.parametrize("row,code", [
    ({"id": "", "mail": "", "ev": "E"}, "missing_id"),
    ({"id": "u", "mail": "", "ev": ""}, "missing_event"),
    ({"id": "u", "mail": "not-an-email", "ev": "E"}, "invalid_email"),
    ({"id": "u" * 300, "mail": "", "ev": "E"}, "id_too_long"),
])
def test_row_errors(row, code):
    with pytest.raises(RowError) as exc:
        row_to_message(row, mapping={"id": "userId", "mail": "email", "ev": "event"}, kind=EVENTS, message_id="m")
    assert exc.value.code == code


def test_csv_streaming_helpers_number_rows_and_skip():
    data = "\ufeffid,plan\nu1,pro\n\nu2,free\nu3,\n".encode()
    text = csv_text_stream(io.BytesIO(data))
    assert csv_headers(text) == ["id", "plan"]
    text = csv_text_stream(io.BytesIO(data))
    assert [n for n, _ in csv_rows(text)] == [1, 3, 4]
    text = csv_text_stream(io.BytesIO(data))
    assert [row["id"] for _, row in csv_rows(text, skip=3)] == ["u3"]
    with pytest.raises(MappingError, match="empty"):
        csv_headers(csv_text_stream(io.BytesIO(b"")))
    with pytest.raises(MappingError, match="same name"):
        csv_headers(csv_text_stream(io.BytesIO(b"a,a\n1,2\n")))


def test_rows_to_messages_splits_good_and_bad_rows():
    rows = [(1, {"id": "u1"}), (2, {"id": ""}), (3, {"id": "u3"})]
    messages, errors = rows_to_messages(rows, mapping={"id": "userId"}, kind=PROFILES, id_prefix="import-9")
    assert [(n, m["messageId"]) for n, m in messages] == [(1, "import-9-1"), (3, "import-9-3")]
    assert errors == [{"row": 2, "error": "missing_id", "detail": "the row has no userId, anonymousId or email"}]
