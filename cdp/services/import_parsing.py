"""CSV rows → Segment-spec messages for bulk imports (pure functions, no database).

A column mapping says what each CSV column becomes: ``userId``, ``anonymousId``, ``email``, ``event``,
``timestamp``, ``traits.<name>``, ``properties.<name>`` or nothing (""). Profiles become identify calls
(traits), events become track calls (properties; ``traits.<x>`` go to ``context.traits``). Rows with only an
email get the same deterministic anonymous id the email webhooks use, so both land on one profile.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from cdp.services.email_webhooks import email_anonymous_id

PROFILES = "profiles"
EVENTS = "events"
KINDS = (PROFILES, EVENTS)

PLAIN_FIELDS = ("userId", "anonymousId", "email", "event", "timestamp")
TRAIT_PREFIX = "traits."
PROPERTY_PREFIX = "properties."
MAX_ID_LENGTH = 255

_INT = re.compile(r"^-?(0|[1-9]\d{0,14})$")
_FLOAT = re.compile(r"^-?(0|[1-9]\d{0,14})\.\d{1,12}$")
_EPOCH = re.compile(r"^\d{9,13}(\.\d+)?$")

# Header spellings recognised when suggesting a mapping.
_ALIASES = {
    "userid": "userId", "user_id": "userId", "user": "userId", "customer_id": "userId", "external_id": "userId",
    "anonymousid": "anonymousId", "anonymous_id": "anonymousId", "anon_id": "anonymousId",
    "email": "email", "e-mail": "email", "email_address": "email",
    "event": "event", "event_name": "event", "eventname": "event", "action": "event",
    "timestamp": "timestamp", "time": "timestamp", "occurred_at": "timestamp", "date": "timestamp",
}


class MappingError(ValueError):
    """The column mapping cannot produce valid messages (shown as a form error)."""


class RowError(ValueError):
    """One row cannot become a message; the import records it and goes on."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _field_name(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]+", "_", value.strip()).strip("_") or "column"


def mapping_suggest(*, headers: list[str], kind: str) -> dict[str, str]:
    """A first guess at a mapping from the header names (the page lets the user change it)."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        lowered = header.strip().lower()
        plain = _ALIASES.get(lowered) or ("userId" if lowered == "id" and kind == PROFILES else None)
        if plain and plain not in taken and not (plain == "event" and kind == PROFILES):
            mapping[header] = plain
            taken.add(plain)
        else:
            prefix = TRAIT_PREFIX if kind == PROFILES else PROPERTY_PREFIX
            mapping[header] = prefix + _field_name(header)
    return mapping


def mapping_validate(*, mapping: dict[str, str], kind: str, headers: list[str] | None = None) -> dict[str, str]:
    """Check a mapping for ``kind``; returns it without the ignored columns. Raises MappingError."""
    if kind not in KINDS:
        raise MappingError(f"kind must be one of {', '.join(KINDS)}")
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for column, target in mapping.items():
        target = (target or "").strip()
        if not target:
            continue
        if headers is not None and column not in headers:
            raise MappingError(f"column '{column}' is not in the file")
        if target in PLAIN_FIELDS:
            if target in seen:
                raise MappingError(f"two columns are mapped to {target}")
            if target == "event" and kind == PROFILES:
                raise MappingError("a profiles import has no event column (use events)")
        elif target.startswith(TRAIT_PREFIX) or target.startswith(PROPERTY_PREFIX):
            name = target.split(".", 1)[1]
            if not name:
                raise MappingError(f"'{target}' needs a name after the dot")
            if target.startswith(PROPERTY_PREFIX) and kind == PROFILES:
                raise MappingError("a profiles import maps columns to traits.<name>, not properties")
            if target in seen:
                raise MappingError(f"two columns are mapped to {target}")
        else:
            raise MappingError(f"unknown field '{target}' for column '{column}'")
        seen.add(target)
        cleaned[column] = target
    if not seen & {"userId", "anonymousId", "email"}:
        raise MappingError("map at least one of userId, anonymousId or email")
    if kind == EVENTS and "event" not in seen:
        raise MappingError("an events import needs a column mapped to event")
    return cleaned


def mapping_parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """Parse ``column=field`` strings (the backfill command's --map) into a mapping."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column:
            raise MappingError(f"'{pair}' is not column=field")
        mapping[column] = target
    return mapping


def coerce_value(raw: str) -> Any:
    """A CSV cell as JSON: true/false, canonical integers and decimals become values; the rest stays text.

    Leading zeros keep the text (zip codes, phone numbers)."""
    text = raw.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def parse_timestamp(raw: str) -> str:
    """ISO 8601 (naive means UTC) or epoch seconds/milliseconds → ISO 8601 with offset. Raises RowError."""
    text = raw.strip()
    try:
        if _EPOCH.match(text):
            value = float(text)
            moment = datetime.fromtimestamp(value / 1000 if value > 10**11 else value, tz=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise RowError("invalid_timestamp", f"'{text[:40]}' is not an ISO 8601 date or epoch time") from exc
    return moment.isoformat()


def row_to_message(row: dict[str, Any], *, mapping: dict[str, str], kind: str, message_id: str) -> dict[str, Any]:
    """Build the identify (profiles) or track (events) message for one CSV row. Raises RowError.

    ``mapping`` must have passed ``mapping_validate``. Empty cells are left out.
    """
    plain: dict[str, str] = {}
    traits: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for column, target in mapping.items():
        raw = row.get(column)
        if raw is None or not str(raw).strip():
            continue
        raw = str(raw)
        if target in PLAIN_FIELDS:
            plain[target] = raw.strip()
        elif target.startswith(TRAIT_PREFIX):
            traits[target[len(TRAIT_PREFIX):]] = coerce_value(raw)
        else:
            properties[target[len(PROPERTY_PREFIX):]] = coerce_value(raw)
    email = plain.get("email", "").lower()
    if email:
        if "@" not in email:
            raise RowError("invalid_email", f"'{email[:60]}' is not an email address")
        traits["email"] = email
    for key in ("userId", "anonymousId"):
        if len(plain.get(key, "")) > MAX_ID_LENGTH:
            raise RowError("id_too_long", f"{key} is longer than {MAX_ID_LENGTH} characters")
    user_id = plain.get("userId")
    anonymous_id = plain.get("anonymousId") or (email_anonymous_id(email) if email and not user_id else None)
    if not (user_id or anonymous_id):
        raise RowError("missing_id", "the row has no userId, anonymousId or email")
    message: dict[str, Any] = {"messageId": message_id, "context": {"library": {"name": "cdp-import",
                                                                                "version": "1"}}}
    if user_id:
        message["userId"] = user_id
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    if email:
        message["context"]["externalIds"] = [{"id": email, "type": "email", "collection": "users",
                                              "encoding": "none"}]
    if "timestamp" in plain:
        message["timestamp"] = parse_timestamp(plain["timestamp"])
    if kind == PROFILES:
        message.update(type="identify", traits=traits)
    else:
        event = plain.get("event")
        if not event:
            raise RowError("missing_event", "the row has no event name")
        message.update(type="track", event=event, properties=properties)
        if traits:
            message["context"]["traits"] = traits
    return message


def csv_text_stream(binary: IO[bytes]) -> io.TextIOWrapper:
    """A text view of an uploaded/opened CSV file (UTF-8, BOM tolerated, undecodable bytes replaced)."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")


def csv_headers(text: IO[str]) -> list[str]:
    """The header row (raises MappingError when the file has none)."""
    try:
        headers = next(csv.reader(text))
    except StopIteration:
        raise MappingError("the file is empty") from None
    except csv.Error as exc:
        raise MappingError(f"not a CSV file: {exc}") from exc
    headers = [h.strip() for h in headers]
    if not any(headers):
        raise MappingError("the first row must name the columns")
    if len(set(headers)) != len(headers):
        raise MappingError("two columns have the same name")
    return headers


def csv_rows(text: IO[str], *, skip: int = 0) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, row) for each data row, numbered from 1 after the header, skipping the first ``skip``.

    Streams: memory does not grow with the file."""
    reader = csv.reader(text)
    headers = [h.strip() for h in next(reader, [])]
    for number, values in enumerate(reader, start=1):
        if number <= skip:
            continue
        if not any(v.strip() for v in values):
            continue
        yield number, dict(zip(headers, values, strict=False))


def rows_to_messages(rows: Iterable[tuple[int, dict[str, str]]], *, mapping: dict[str, str], kind: str,
                     id_prefix: str) -> tuple[list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    """Messages (with their row numbers) and row errors for a chunk of rows. messageId = <id_prefix>-<row>."""
    messages: list[tuple[int, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    for number, row in rows:
        try:
            messages.append((number, row_to_message(row, mapping=mapping, kind=kind,
                                                    message_id=f"{id_prefix}-{number}")))
        except RowError as exc:
            errors.append({"row": number, "error": exc.code, "detail": exc.detail})
    return messages, errors
