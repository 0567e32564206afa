"""Who may open the CDP pages: managers (Marketing, admins) and viewers (also Sales, Support, read-only)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from cdp.selectors.source_pages import can_manage_sources, can_view_sources


def cdp_viewer_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_view_sources(request.user):
            raise PermissionDenied("The CDP pages are for Marketing, Sales, Support and admins.")
        return view(request, *args, **kwargs)

    return wrapper


def cdp_manager_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_manage_sources(request.user):
            raise PermissionDenied("Only Marketing and admins manage CDP sources.")
        return view(request, *args, **kwargs)

    return wrapper
