"""Logging activities from contact, company and deal pages; completing tasks."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.models import Activity
from crm.selectors.activities import activities_visible_to
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import contacts_visible_to
from crm.selectors.deals import deals_visible_to
from crm.services.activities import activity_log, task_complete
from crm.views.deal_forms import ActivityForm
from crm.views.sales_common import errors_to_form, safe_next


def _linked(request, data) -> dict:
    """The linked records named in ``data``, each looked up among those the user may see (404 otherwise)."""
    found = {}
    lookups = {"contact": lambda: contacts_visible_to(request.user),
               "company": lambda: companies_visible_to(request.user),
               "deal": lambda: deals_visible_to(request.user)}
    for name, queryset in lookups.items():
        value = data.get(name)
        if value:
            found[name] = get_object_or_404(queryset(), pk=value)
    return found


@login_required
def activity_log_view(request):
    """GET: the log form (for htmx includes) for ?contact=/company=/deal=; POST: log it.

    With htmx the answer is the form again (cleared, with a confirmation) and an ``HX-Trigger: activityLogged``
    so the page can refresh its timeline; without htmx it redirects back to ``next``.
    """
    source = request.POST if request.method == "POST" else request.GET
    target = {name: source.get(name) for name in ("contact", "company", "deal") if source.get(name, "").isdigit()}
    form = ActivityForm(request.POST or None, initial={**target, "kind": request.GET.get("kind", "note")},
                        user=request.user)
    logged = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            linked = _linked(request, data)
            logged = activity_log(
                user=request.user, kind=data["kind"], subject=data["subject"], body=data["body"],
                occurred_at=data["occurred_at"], call_outcome=data["call_outcome"],
                call_duration_minutes=data["call_duration_minutes"], meeting_start=data["meeting_start"],
                meeting_end=data["meeting_end"], due_at=data["due_at"], assignee=data["assignee"],
                reminder_at=data["reminder_at"], **linked,
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        except PermissionDenied as exc:
            if not request.htmx:
                return HttpResponseForbidden(str(exc))
            form.add_error(None, str(exc))
    if logged is not None and not request.htmx:
        messages.success(request, f"{logged.get_kind_display()} logged.")
        return redirect(safe_next(request, "/crm/"))
    if logged is not None:
        form = ActivityForm(initial={**target, "kind": logged.kind}, user=request.user)
    response = render(request, "crm/activities/_log_form.html",
                      {"activity_form": form, "log_target": target, "logged": logged,
                       "next": safe_next(request, request.path)})
    if logged is not None:
        response["HX-Trigger"] = "activityLogged"
    return response


@login_required
@require_POST
def task_complete_view(request, pk: int):
    activity = get_object_or_404(activities_visible_to(request.user), pk=pk, kind=Activity.Kind.TASK)
    try:
        task = task_complete(user=request.user, activity=activity, done=request.POST.get("done", "1") != "0")
    except PermissionDenied as exc:
        return HttpResponseForbidden(str(exc))
    if request.htmx:
        return render(request, "crm/activities/_task.html", {"task": task})
    messages.success(request, f"Task “{task.subject}” {'done' if task.done else 'reopened'}.")
    return redirect(safe_next(request, "/"))
