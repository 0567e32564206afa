"""API error shape shared by every endpoint: {"error": ..., "detail": ...}."""

from __future__ import annotations

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        detail = data["detail"]
    else:
        detail = data
    response.data = {"error": str(code), "detail": detail}
    return response
