"""GET /v1/profiles/{type}:{value}/traits|events|segments|identifiers — read token auth (cdp.api.profiles.auth:
scopes, expiry, rate limit), JSON answers.

Any identifier of a person gives the same answer (it resolves to the one surviving profile).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from django.db.models import Q

from cdp.api.errors import ApiError, json_response
from cdp.api.profiles.auth import profile_endpoint
from cdp.extensions import scores_for_profile, segments_for_profile
from cdp.models import Profile, ReadTokenScope
from cdp.selectors.profiles import profile_events, profile_identifiers

MAX_LIMIT = 200

# The scope each endpoint needs (README "Profile API"): segments are derived from traits and events, so they
# are personal data like traits.


@profile_endpoint(scope=ReadTokenScope.TRAITS)
def traits(request, profile: Profile):
    return json_response({"profile_id": profile.pk, "traits": profile.traits, "computed_traits": profile.computed,
                          "crm_contact_id": profile.crm_contact_id})


@profile_endpoint(scope=ReadTokenScope.IDENTIFIERS)
def identifiers(request, profile: Profile):
    return json_response({"profile_id": profile.pk, "identifiers": [
        {"type": i.type, "value": i.value, "created_at": i.created_at.isoformat()}
        for i in profile_identifiers(profile)]})


@profile_endpoint(scope=ReadTokenScope.TRAITS)
def segments(request, profile: Profile):
    return json_response({"profile_id": profile.pk, "segments": segments_for_profile(profile.pk)})


@profile_endpoint(scope=ReadTokenScope.TRAITS)
def scores(request, profile: Profile):
    """Lead scores (derived from traits, events and CRM facts: personal data like traits)."""
    return json_response({"profile_id": profile.pk, "scores": scores_for_profile(profile.pk)})


def _cursor_decode(raw: str) -> tuple[datetime, int]:
    try:
        ts, _, eid = base64.urlsafe_b64decode(raw.encode()).decode().partition("|")
        return datetime.fromisoformat(ts), int(eid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "bad_cursor", "cursor is not one this API returned") from None


@profile_endpoint(scope=ReadTokenScope.EVENTS)
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
