"""The OpenAPI description of the /v1 collection API and the /v1/profiles API.

These endpoints are plain Django views (the collection path skips DRF and most middleware for speed), so
drf-spectacular cannot see them; config.openapi adds what this module describes to the generated schema. Keep
it next to the views: a change of their answers is a change here. Error answers are the project's JSON error
shape; config.openapi adds the error responses common to every operation.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
SHORT_PATHS = {"identify": "i", "track": "t", "page": "p", "screen": "s", "group": "g", "alias": "a", "batch": "b"}

_ID = {"oneOf": [{"type": "string"}, {"type": "number"}], "description": "A string (numbers are read as text)."}
_OBJECT = {"type": "object", "additionalProperties": True}

# Fields every message may carry (Segment's common fields); the type-specific ones are added per type.
_COMMON_FIELDS: dict[str, Any] = {
    "userId": _ID,
    "anonymousId": _ID,
    "messageId": {"type": "string", "description": "Stored once per source; generated when missing."},
    "timestamp": {"type": "string", "format": "date-time"},
    "originalTimestamp": {"type": "string", "format": "date-time"},
    "sentAt": {"type": "string", "format": "date-time"},
    "context": _OBJECT,
    "integrations": _OBJECT,
    "traits": _OBJECT,
    "properties": _OBJECT,
    "writeKey": {"type": "string", "description": "The source's write key, when it is not sent as Basic auth."},
}
_TYPE_FIELDS: dict[str, tuple[dict[str, Any], str]] = {
    "identify": ({}, "Who the person is: `traits` are set on the profile."),
    "track": ({"event": {"type": "string", "minLength": 1}}, "Something the person did (`event` is required)."),
    "page": ({"name": {"type": "string"}, "category": {"type": "string"}}, "A web page view."),
    "screen": ({"name": {"type": "string"}, "category": {"type": "string"}}, "A mobile screen view."),
    "group": ({"groupId": _ID}, "The person belongs to an account (`groupId` is required)."),
    "alias": ({"previousId": _ID},
              "`previousId` (an anonymous id or an older user id, whichever already exists) is the same person as "
              "`userId`."),
}


def _message_schema(type_: str) -> dict[str, Any]:
    fields, _ = _TYPE_FIELDS[type_]
    schema: dict[str, Any] = {
        "type": "object",
        "description": "A Segment-spec message; userId or anonymousId is required.",
        "properties": {"type": {"type": "string", "enum": [type_]}, **_COMMON_FIELDS, **fields},
        "additionalProperties": True,
    }
    return schema


def _json_body(ref: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ref}"}
    return {"required": True, "content": {"application/json": {"schema": schema}, "text/plain": {"schema": schema}}}


def _json(description: str, ref: str) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ref}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(description, "Error")


def _collect_errors() -> dict[str, Any]:
    return {
        "401": _error("Unknown, rotated-out or missing write key."),
        "403": _error("The source is disabled, or the Origin is not one the source allows."),
        "413": _error(f"The body or an event is too large (limits: {settings.CDP_MAX_EVENT_BYTES} bytes per event, "
                      f"{settings.CDP_MAX_BATCH_BYTES} bytes and {settings.CDP_MAX_BATCH_EVENTS} events per batch)."),
        "415": _error("The body is not JSON (send application/json or text/plain), or an unknown Content-Encoding."),
        "429": _error("Over the source's rate limit; retry after the `Retry-After` seconds."),
        "503": _error("The event store is unavailable; retry after the `Retry-After` seconds."),
    }


def collection_paths() -> dict[str, Any]:
    """Paths of the collection API (long forms; each also answers at its short path and with a trailing slash)."""
    security = [{"writeKey": []}, {}]  # the write key may also come in the body
    paths: dict[str, Any] = {}
    for type_ in MESSAGE_TYPES:
        _, summary = _TYPE_FIELDS[type_]
        paths[f"/v1/{type_}"] = {"post": {
            "operationId": f"collect_{type_}",
            "summary": summary,
            "description": f"Also at `/v1/{SHORT_PATHS[type_]}`. Answers 200 once the event is stored.",
            "tags": ["collect"],
            "security": security,
            "requestBody": _json_body(f"{type_.capitalize()}Message"),
            "responses": {
                "200": _json("Stored (or a duplicate `messageId`, stored before).", "CollectSuccess"),
                "400": _error("Not JSON, not an object, or the message is invalid (`error` says why)."),
                **_collect_errors(),
            },
        }}
    batch = {
        "operationId": "collect_batch",
        "summary": "Up to the batch limit of messages of any type in one request.",
        "description": "Also at `/v1/b` and `/v1/import`. Valid messages are stored even when others are "
                       "rejected; `rejected` says which and why.",
        "tags": ["collect"],
        "security": security,
        "requestBody": _json_body("BatchRequest"),
        "responses": {
            "200": _json("The valid messages are stored.", "BatchResult"),
            "400": _error("Not JSON, not an object, or `batch` is not an array."),
            **_collect_errors(),
        },
    }
    paths["/v1/batch"] = {"post": batch}
    return paths


def collection_components() -> dict[str, Any]:
    schemas: dict[str, Any] = {f"{t.capitalize()}Message": _message_schema(t) for t in MESSAGE_TYPES}
    schemas["AnyMessage"] = {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": list(MESSAGE_TYPES)}, **_COMMON_FIELDS,
                       **{k: v for fields, _ in _TYPE_FIELDS.values() for k, v in fields.items()}},
        "required": ["type"],
        "additionalProperties": True,
    }
    schemas["BatchRequest"] = {
        "type": "object",
        "properties": {
            "batch": {"type": "array", "items": {"$ref": "#/components/schemas/AnyMessage"}},
            "context": _OBJECT,
            "integrations": _OBJECT,
            "sentAt": {"type": "string", "format": "date-time"},
            "writeKey": {"type": "string"},
        },
        "required": ["batch"],
        "additionalProperties": True,
    }
    schemas["CollectSuccess"] = {"type": "object", "properties": {"success": {"type": "boolean"}},
                                 "required": ["success"]}
    schemas["BatchResult"] = {
        "type": "object",
        "properties": {
            "success": {"type": "boolean"},
            "accepted": {"type": "integer", "description": "Messages stored now."},
            "duplicates": {"type": "integer", "description": "Messages whose messageId was stored before."},
            "rejected": {"type": "array", "items": {
                "type": "object",
                "properties": {"index": {"type": "integer"}, "messageId": {"type": "string", "nullable": True},
                               "error": {"type": "string"}, "detail": {"type": "string"}},
                "required": ["index", "messageId", "error", "detail"],
            }},
        },
        "required": ["success", "accepted", "duplicates", "rejected"],
    }
    return schemas


_IDENT_PARAM = {
    "name": "ident", "in": "path", "required": True,
    "description": "Any identifier of the person as `{type}:{value}`, e.g. `user_id:42`, `email:ann@example.com`.",
    "schema": {"type": "string"},
}


def profile_paths() -> dict[str, Any]:
    errors = {
        "400": _error("The identifier is not `{type}:{value}`, or a bad `limit` or `cursor`."),
        "401": _error("No read token, an unknown or revoked one (`unauthorized`), or an expired one "
                      "(`token_expired`)."),
        "403": _error("The read token lacks the scope this endpoint needs (`insufficient_scope`)."),
        "404": _error("No profile has this identifier."),
        "429": _error("Over the read token's requests per minute (its own limit, else "
                      f"{settings.CDP_READ_TOKEN_REQUESTS_PER_MINUTE}); retry after the `Retry-After` seconds."),
    }
    from cdp.api.profiles import views  # the scope each endpoint needs is declared on the view

    what = {
        "traits": ("ProfileTraits", "The person's traits, computed traits and CRM contact.", views.traits),
        "identifiers": ("ProfileIdentifiers", "Every identifier of the person.", views.identifiers),
        "segments": ("ProfileSegments", "The segments the person is in.", views.segments),
        "events": ("ProfileEvents", "The person's events, newest first, a page at a time.", views.events),
        "scores": ("ProfileScores", "The person's lead scores, one per score model (default first), with the "
                   "points each condition gave.", views.scores),
    }
    paths: dict[str, Any] = {}
    for name, (ref, summary, view) in what.items():
        scope = view.required_scope.value
        params = [_IDENT_PARAM]
        if name == "events":
            params = params + [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                             "default": 50}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"},
                 "description": "`cursor.next` of the previous page."},
            ]
        paths[f"/v1/profiles/{{ident}}/{name}"] = {"get": {
            "operationId": f"profile_{name}",
            "summary": summary,
            "description": f"Needs a read token with the `{scope}` scope.",
            "x-required-scope": scope,
            "tags": ["profiles"],
            "security": [{"readToken": []}],
            "parameters": params,
            "responses": {"200": _json(summary, ref), **errors},
        }}
    return paths


def profile_components() -> dict[str, Any]:
    pid = {"type": "integer"}
    return {
        "ProfileTraits": {"type": "object", "required": ["profile_id", "traits", "computed_traits", "crm_contact_id"],
                          "properties": {"profile_id": pid, "traits": _OBJECT, "computed_traits": _OBJECT,
                                         "crm_contact_id": {"type": "integer", "nullable": True}}},
        "ProfileIdentifiers": {"type": "object", "required": ["profile_id", "identifiers"], "properties": {
            "profile_id": pid,
            "identifiers": {"type": "array", "items": {
                "type": "object", "required": ["type", "value", "created_at"],
                "properties": {"type": {"type": "string"}, "value": {"type": "string"},
                               "created_at": {"type": "string", "format": "date-time"}}}}}},
        "ProfileSegments": {"type": "object", "required": ["profile_id", "segments"], "properties": {
            "profile_id": pid, "segments": {"type": "array", "items": _OBJECT}}},
        "ProfileScores": {"type": "object", "required": ["profile_id", "scores"], "properties": {
            "profile_id": pid,
            "scores": {"type": "array", "description": "Models under which the person scores nothing are left out.",
                       "items": {
                "type": "object", "required": ["model_id", "model", "default", "score", "why", "scored_at"],
                "properties": {
                    "model_id": {"type": "integer"}, "model": {"type": "string", "description": "The model's name."},
                    "default": {"type": "boolean", "description": "The model reps see in the CRM."},
                    "score": {"type": "number", "description": "The sum of the points, at most the model's cap."},
                    "why": {"type": "array", "description": "The conditions that gave points, in the model's order.",
                            "items": {"type": "object", "required": ["label", "points"], "properties": {
                                "label": {"type": "string"}, "points": {"type": "number"}}}},
                    "scored_at": {"type": "string", "format": "date-time"},
                }}}}},
        "ProfileEvents": {"type": "object", "required": ["profile_id", "data", "cursor"], "properties": {
            "profile_id": pid,
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "type", "event", "message_id", "timestamp", "received_at", "properties", "traits"],
                "properties": {
                    "id": {"type": "integer"}, "type": {"type": "string"},
                    "event": {"type": "string", "nullable": True}, "message_id": {"type": "string"},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "received_at": {"type": "string", "format": "date-time"},
                    "properties": _OBJECT, "traits": {"type": "object", "nullable": True},
                }}},
            "cursor": {"type": "object", "required": ["next"],
                       "properties": {"next": {"type": "string", "nullable": True}}},
        }},
    }


SECURITY_SCHEMES = {
    "writeKey": {"type": "http", "scheme": "basic",
                 "description": "The source's write key as the username, an empty password."},
    "readToken": {"type": "http", "scheme": "bearer", "description": (
        "A read token (CDP pages or createreadtoken). Its scopes say what it may read: `identifiers` (the default: "
        "no personal data beyond the ids), `traits` (traits, computed traits, CRM contact id, segments), `events`. "
        "A token may expire and has a rate limit per minute.")},
}
