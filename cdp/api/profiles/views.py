"""GET /v1/profiles/{type}:{value}/traits|events|segments|identifiers — read token auth, JSON answers.

Any identifier of a person gives the same answer (it resolves to the one surviving profile).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from django.db.models import Q
from django.views.decorators.http import require_GET

from cdp.api.errors import ApiError, error_response, json_response
from cdp.extensions import segments_for_profile
from cdp.models import Profile
from cdp.selectors.profiles import profile_events, profile_for_identifier, profile_identifiers
from cdp.services.read_tokens import read_token_check

MAX_LIMIT = 200


def _raw_token(request) -> str | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            return base64.b64decode(value, validate=True).decode().partition(":")[0] or None
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ApiError(401, "unauthorized", "malformed Basic authorization header") from None
    return None


def profile_endpoint(view: Callable) -> Callable:
    @require_GET
    @wraps(view)
    def wrapper(request, ident: str):
        try:
            raw = _raw_token(request)
            if not raw:
                raise ApiError(401, "unauthorized", "a read token is required (Authorization: Bearer <token>)",
                               headers={"WWW-Authenticate": 'Bearer realm="profiles"'})
            if read_token_check(raw) is None:
                raise ApiError(401, "unauthorized", "unknown or revoked read token")
            type_, sep, value = ident.partition(":")
            if not sep or not type_ or not value:
                raise ApiError(400, "bad_identifier", "use {type}:{value}, e.g. user_id:42 or email:ann@example.com")
            profile = profile_for_identifier(type_, value)
            if profile is None:
                raise ApiError(404, "not_found", f"no profile has the identifier {type_}:{value}")
            return view(request, profile)
        except ApiError as exc:
            return error_response(exc)

    return wrapper


@profile_endpoint
def traits(request, profile: Profile):
    return json_response({"profile_id": profile.pk, "traits": profile.traits, "computed_traits": profile.computed,
                          "crm_contact_id": profile.crm_contact_id})


@profile_endpoint
def identifiers(request, profile: Profile):
    return json_response({"profile_id": profile.pk, "identifiers": [
        {"type": i.type, "value": i.value, "created_at": i.created_at.isoformat()}
        for i in profile_identifiers(profile)]})


@profile_endpoint
def segments(request, profile: Profile):
    return json_response({"profile_id": profile.pk, "segments": segments_for_profile(profile.pk)})


def _cursor_decode(raw: str) -> tuple[datetime, int]:
    try:
        ts, _, eid = base64.urlsafe_b64decode(raw.encode()).decode().partition("|")
        return datetime.fromisoformat(ts), int(eid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "bad_cursor", "cursor is not one this API returned") from None


@profile_endpoint
def events(request, profile: Profile):
    try:
        limit = int(request.GET.get("limit", 50))
    except ValueError:
        raise ApiError(400, "bad_limit", "limit must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, "bad_limit", f"limit must be between 1 and {MAX_LIMIT}")
    qs = profile_events(profile)
    if cursor := request.GET.get("cursor"):
        ts, eid = _cursor_decode(cursor)
        qs = qs.filter(Q(timestamp__lt=ts) | Q(timestamp=ts, id__lt=eid))
    rows = list(qs.values("id", "type", "event", "timestamp", "received_at", "message_id", "payload")[:limit + 1])
    page, more = rows[:limit], len(rows) > limit
    data = [{
        "id": r["id"], "type": r["type"], "event": r["event"], "message_id": r["message_id"],
        "timestamp": r["timestamp"].isoformat(), "received_at": r["received_at"].isoformat(),
        "properties": (r["payload"] or {}).get("properties") or {}, "traits": (r["payload"] or {}).get("traits"),
    } for r in page]
    nxt = None
    if more:
        last = page[-1]
        nxt = base64.urlsafe_b64encode(f"{last['timestamp'].isoformat()}|{last['id']}".encode()).decode()
    return json_response({"profile_id": profile.pk, "data": data, "cursor": {"next": nxt}})
