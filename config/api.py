"""API error shape shared by every endpoint: {"error": ..., "detail": ...}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, Http404):  # Django's own exceptions, which DRF answers as its NotFound / PermissionDenied
        code = "not_found"
    elif isinstance(exc, PermissionDenied):
        code = "permission_denied"
    else:
        code = getattr(exc, "default_code", "error")
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        detail = data["detail"]
    else:
        detail = data
    response.data = {"error": str(code), "detail": detail}
    return response
