"""Agent queues: mine, unassigned, my teams' open tickets, breaching soon, overdue — sorted by SLA due time, with
bulk assign / status / priority."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.csv_export import csv_stream_response
from crm.forms.tickets import BulkForm
from crm.selectors.tickets import (
    QUEUES,
    agent_is_available,
    agent_team_ids,
    agents_for,
    is_agent,
    notifications_for,
    queue_counts,
    queues_visible_to,
    ticket_queue,
    tickets_editable_by,
    tickets_visible_to,
)
from crm.services.tickets import agent_set_available, notifications_mark_read, tickets_bulk_update
from crm.services.tickets_inbound import email_capture_address, email_capture_address_of

EXPORT_HEADER = ["number", "subject", "status", "priority", "requester", "requester_email", "assignee", "queue",
                 "created_at", "resolution_due_at"]


def _export_rows(tickets):
    for t in tickets.iterator(chunk_size=2000):
        yield [t.number, t.subject, t.status, t.priority, t.requester.full_name if t.requester else "",
               t.requester.email if t.requester else "", t.assignee.get_username() if t.assignee else "",
               t.queue.name if t.queue else "", t.created_at.isoformat(),
               t.resolution_due_at.isoformat() if t.resolution_due_at else ""]

PAGE_SIZE = 50


@login_required
def support_index(request):
    if not is_agent(request.user):
        # Sales reps read the tickets of their contacts; others see what they may (nothing).
        tickets = tickets_visible_to(request.user).select_related("requester", "assignee").order_by("-created_at")
        page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "crm/support/readonly_list.html", {
            "page": page, "bcc_address": email_capture_address_of(request.user)})
    return queue_view(request, "mine")


@login_required
def queue_view(request, name: str):
    if name not in QUEUES:
        raise Http404("No such queue.")
    if not is_agent(request.user):
        return redirect("support-index")
    now = timezone.now()
    queue_id = request.GET.get("queue")
    queue_id = int(queue_id) if queue_id and queue_id.isdigit() else None
    tickets = ticket_queue(name, user=request.user, now=now, queue_id=queue_id)
    if request.GET.get("export") == "csv":
        return csv_stream_response(f"tickets-{name}.csv", EXPORT_HEADER, _export_rows(tickets))
    counts = queue_counts(user=request.user, now=now)
    paginator = Paginator(tickets, PAGE_SIZE)
    if queue_id is None:
        paginator.__dict__["count"] = counts[name]  # already counted with the others: no second COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    team_ids = None if request.user.is_superuser else agent_team_ids(request.user)
    agents = agents_for(team_ids) if team_ids is not None else get_user_model().objects.filter(
        is_active=True, teams__isnull=False).distinct().order_by("first_name", "username")
    return render(request, "crm/support/queue.html", {
        "name": name, "title": QUEUES[name], "queues": QUEUES, "counts": counts,
        "page": page, "now": now, "agents": agents, "ticket_queues": queues_visible_to(request.user),
        "queue_id": queue_id, "bulk": BulkForm(), "notifications": notifications_for(request.user),
        "available": agent_is_available(request.user),
    })


@login_required
@require_POST
def email_capture_view(request):
    """Give the user a personal BCC address for filing sales mail on contacts' timelines."""
    email_capture_address(request.user)
    return redirect("support-index")


@login_required
@require_POST
def agent_prefs_view(request):
    """Toggle round-robin availability, or mark the SLA notices read."""
    if not is_agent(request.user):
        return redirect("support-index")
    if "available" in request.POST:
        agent_set_available(user=request.user, available=request.POST["available"] == "1")
    if "notifications_read" in request.POST:
        notifications_mark_read(user=request.user)
    return redirect("support-queue", name="mine")


@login_required
@require_POST
def bulk_view(request):
    if not is_agent(request.user):
        return redirect("support-index")
    ids = [int(v) for v in request.POST.getlist("tickets") if v.isdigit()]
    editable = list(tickets_editable_by(request.user).filter(pk__in=ids).order_by("pk"))
    data = request.POST.copy()
    data.setlist("tickets", [str(t.pk) for t in editable])  # tickets the user may not work are left out
    form = BulkForm(data, ticket_ids=[t.pk for t in editable])
    back = request.POST.get("next") or "/support/"
    if not back.startswith("/support/"):
        back = "/support/"
    if not form.is_valid():
        messages.error(request, "Choose tickets you may work, and a change.")
        return redirect(back)
    data = form.cleaned_data
    assignee, unassign = None, False
    if data["assignee"] == "none":
        unassign = True
    elif data["assignee"] == "me":
        assignee = request.user
    elif data["assignee"].isdigit():
        assignee = get_user_model().objects.filter(pk=int(data["assignee"]), is_active=True).first()
    if not (data["status"] or data["priority"] or assignee or unassign):
        messages.error(request, "Choose a change to apply.")
        return redirect(back)
    changed, errors = tickets_bulk_update(tickets=editable, actor=request.user, status=data["status"] or None,
                                          priority=data["priority"] or None, assignee=assignee, unassign=unassign)
    messages.success(request, f"{changed} ticket(s) updated.")
    for error in errors[:10]:
        messages.error(request, error)
    return redirect(back)
