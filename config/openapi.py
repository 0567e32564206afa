"""drf-spectacular postprocessing: one schema for the whole API, with its error answers documented once.

The hook adds the collection and profile APIs (plain Django views, described in cdp.api.openapi) and gives every
operation the error responses it can answer, each with the project's JSON error shape ``{"error", "detail"}``
(config.api.exception_handler for DRF views, cdp.api.errors for /v1): defined once under
``components/responses`` and referenced from each operation.
"""

from __future__ import annotations

from typing import Any

from cdp.api import openapi as cdp_openapi

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error answer: a machine-readable code and a message, or field errors for invalid input.",
    "properties": {
        "error": {"type": "string", "description": "e.g. invalid, not_found, not_authenticated, permission_denied"},
        "detail": {"description": "A message, or an object of field name → messages."},
    },
    "required": ["error", "detail"],
}

# status → (component name, description). 414 is answered by the web server in front of Django (gunicorn) for a
# request line over its limit, so it has no JSON body.
COMMON_ERRORS: dict[str, tuple[str, str]] = {
    "400": ("BadRequest", "Invalid input: `detail` holds a message or the field errors."),
    "401": ("Unauthorized", "Not authenticated."),
    "403": ("Forbidden", "The user's role may not do this."),
    "404": ("NotFound", "No such record, or not one the user may see (or a page past the last one)."),
    "414": ("UriTooLong", "The request line is longer than the web server accepts."),
    "415": ("UnsupportedMediaType", "The body is not in one of the documented media types."),
    "429": ("Throttled", "Over the request rate of the token, user or address; retry after `Retry-After` seconds."),
}


def _responses() -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Error"}
    out = {}
    for status, (name, description) in COMMON_ERRORS.items():
        out[name] = {"description": description}
        if status != "414":
            out[name]["content"] = {"application/json": {"schema": ref}}
    return out


def _errors_for(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation of the DRF API can answer."""
    params = operation.get("parameters", [])
    has_query = any(p.get("in") == "query" for p in params)
    has_path = "{" in path
    codes = ["401", "403", "429"]
    if has_query or method != "get":  # bad parameters or body; a write (or a delete) a rule refuses
        codes.append("400")
    if has_path or any(p.get("name") == "page" for p in params):
        codes.append("404")
    if has_query or has_path:
        codes.append("414")
    if "requestBody" in operation:
        codes.append("415")
    return codes


def postprocess(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    components.setdefault("responses", {}).update(_responses())
    components.setdefault("securitySchemes", {}).update(cdp_openapi.SECURITY_SCHEMES)

    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in _errors_for(path, method, operation):
                responses.setdefault(status, {"$ref": f"#/components/responses/{COMMON_ERRORS[status][0]}"})
            for status, response in responses.items():
                # An error a view documents by description only still answers in the one error shape.
                if status.startswith("4") and status != "414" and "$ref" not in response and "content" not in response:
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

    schemas.update(cdp_openapi.collection_components())
    schemas.update(cdp_openapi.profile_components())
    cdp_paths = {**cdp_openapi.profile_paths(), **cdp_openapi.collection_paths()}
    for operations in cdp_paths.values():
        for operation in operations.values():
            operation["responses"].setdefault("414", {"$ref": "#/components/responses/UriTooLong"})
    result.setdefault("paths", {}).update(cdp_paths)
    return result
