"""Saved list views per user (a named query string of a contact or company list)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm.models import SavedView
from crm.services.saved_views import saved_view_delete, saved_view_save

LIST_URLS = {"contact": "contact-list", "company": "company-list"}


@login_required
@require_POST
def saved_view_create(request, object_type: str):
    if object_type not in LIST_URLS:
        return redirect("crm-index")
    name = (request.POST.get("name") or "").strip()
    query = request.POST.get("query_string", "")
    target = reverse(LIST_URLS[object_type])
    if not name:
        messages.error(request, "Give the view a name.")
        return redirect(f"{target}?{query}" if query else target)
    saved_view_save(user=request.user, object_type=object_type, name=name, query_string=query)
    messages.success(request, f"Saved view “{name}”.")
    return redirect(f"{target}?{query}" if query else target)


@login_required
@require_POST
def saved_view_remove(request, pk: int):
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    object_type = view.object_type
    saved_view_delete(saved_view=view)
    messages.success(request, f"Deleted view “{view.name}”.")
    return redirect(LIST_URLS.get(object_type, "crm-index"))
