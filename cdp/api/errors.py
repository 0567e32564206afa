"""JSON answers of the collection API."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse


class ApiError(Exception):
    """An answer other than success: status, machine-readable error code, human-readable detail."""

    def __init__(self, status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(orjson.dumps(data), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(exc: ApiError) -> HttpResponse:
    # "code"/"message" repeat the error for Segment's SDKs, which read those keys from error answers.
    data = {"error": exc.error, "detail": exc.detail, "code": exc.error, "message": exc.detail}
    return json_response(data, status=exc.status, headers=exc.headers)
