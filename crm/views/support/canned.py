"""Canned responses managed by agents and leads (outside Django admin): list, create, edit, delete, within the
rules of crm.selectors.tickets.canned_can_edit (team members their own, leads their teams' and the shared ones)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm.forms.tickets import CannedResponseForm
from crm.models import Team
from crm.selectors.tickets import (
    canned_can_edit,
    canned_may_manage_shared,
    canned_responses_for,
    canned_team_ids_writable_by,
)
from crm.services.tickets_canned import (
    PLACEHOLDERS,
    canned_response_create,
    canned_response_delete,
    canned_response_update,
)
from crm.views.support.common import agent_required


def _form(request, **kwargs) -> CannedResponseForm:
    writable = canned_team_ids_writable_by(request.user)
    teams = Team.objects.all() if writable is None else Team.objects.filter(pk__in=writable)
    return CannedResponseForm(request.POST or None, teams=list(teams.order_by("name")),
                              may_share=canned_may_manage_shared(request.user), **kwargs)


def _response_or_404(request, pk: int):
    response = canned_responses_for(request.user).filter(pk=pk).first()
    if response is None:
        raise Http404("No such canned response.")
    return response


def _save(request, form, action) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    try:
        action(title=data["title"], body=data["body"], team=data["team"])
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return False
    except PermissionDenied as exc:
        form.add_error("team", str(exc))
        return False
    return True


@login_required
@agent_required
def canned_list(request):
    responses = list(canned_responses_for(request.user).select_related("team", "created_by"))
    rows = [(r, canned_can_edit(request.user, r)) for r in responses]
    return render(request, "crm/support/canned_list.html", {"rows": rows, "placeholders": PLACEHOLDERS})


@login_required
@agent_required
def canned_new(request):
    form = _form(request)
    if request.method == "POST" and _save(request, form, lambda **kw: canned_response_create(actor=request.user,
                                                                                               **kw)):
        messages.success(request, f"Canned response “{form.cleaned_data['title']}” created.")
        return redirect("support-canned")
    return render(request, "crm/support/canned_form.html", {"form": form, "placeholders": PLACEHOLDERS},
                  status=400 if form.errors else 200)


@login_required
@agent_required
def canned_edit(request, pk: int):
    response = _response_or_404(request, pk)
    if not canned_can_edit(request.user, response):
        raise PermissionDenied("You may not change this canned response.")
    form = _form(request, initial={"title": response.title, "body": response.body, "team": response.team_id})
    if request.method == "POST" and _save(request, form, lambda **kw: canned_response_update(
            actor=request.user, response=response, **kw)):
        messages.success(request, f"Canned response “{form.cleaned_data['title']}” saved.")
        return redirect("support-canned")
    return render(request, "crm/support/canned_form.html",
                  {"form": form, "response": response, "placeholders": PLACEHOLDERS},
                  status=400 if form.errors else 200)


@login_required
@agent_required
@require_POST
def canned_delete(request, pk: int):
    response = _response_or_404(request, pk)
    canned_response_delete(actor=request.user, response=response)  # PermissionDenied → 403
    messages.success(request, f"Canned response “{response.title}” deleted.")
    return redirect("support-canned")
