from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied

from crm.selectors.tickets import is_agent


def agent_required(view):
    """Support agents and admins only (403 for everyone else; login is required first)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_agent(request.user):
            raise PermissionDenied("Only support agents work tickets.")
        return view(request, *args, **kwargs)

    return wrapper

