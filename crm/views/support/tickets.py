"""The ticket page (conversation, reply/note editor with canned responses, controls, SLA clocks, side panel) and
its actions. Every ticket is looked up through the visibility selectors; writes need an agent who may work it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm.extensions import ticket_panels
from crm.forms.tickets import NewTicketForm, ReplyForm, TicketControlsForm
from crm.models import TicketAttachment
from crm.selectors.tickets import (
    agents_for,
    canned_responses_for,
    entries_visible_to,
    queues_visible_to,
    ticket_can_edit,
    ticket_for_page,
    ticket_requester_context,
    tickets_editable_by,
    tickets_visible_to,
)
from crm.services.tickets import (
    ticket_assign,
    ticket_change_priority,
    ticket_change_queue,
    ticket_change_status,
    ticket_create,
    ticket_note,
    ticket_reply,
)
from crm.services.tickets_canned import canned_render
from crm.services.tickets_contacts import contact_for_email
from crm.views.support.common import agent_required


def _ticket_or_404(request, pk: int):
    ticket = ticket_for_page(request.user, pk)
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def _editable_or_403(request, pk: int):
    ticket = tickets_editable_by(request.user).filter(pk=pk).select_related("queue", "assignee").first()
    if ticket is None:
        if tickets_visible_to(request.user).filter(pk=pk).exists():
            raise PermissionDenied("You may read this ticket but not work it.")
        raise Http404("No such ticket.")
    return ticket


def _panels(request, ticket) -> list[dict]:
    panels = []
    for provider in ticket_panels():
        panel = provider(ticket, user=request.user)
        if panel:
            html = render_to_string(panel["template"], {**panel.get("context", {}), "ticket": ticket},
                                    request=request)
            panels.append({"title": panel.get("title", ""), "html": html})
    return panels


@login_required
def ticket_detail(request, pk: int):
    ticket = _ticket_or_404(request, pk)
    can_edit = ticket_can_edit(request.user, ticket)
    context = {"ticket": ticket, "can_edit": can_edit, "now": timezone.now(),
               "entries": entries_visible_to(request.user, ticket, can_edit=can_edit),
               "history": ticket.history.select_related("actor").order_by("-at", "-id")[:50],
               "panels": _panels(request, ticket)}
    context.update(ticket_requester_context(request.user, ticket))
    if can_edit:
        team_ids = [ticket.team_id] if ticket.team_id else []
        agents = agents_for(team_ids) if team_ids else get_user_model().objects.none()
        context["reply_form"] = ReplyForm()
        context["controls"] = TicketControlsForm(
            initial={"status": ticket.status, "priority": ticket.priority, "assignee": ticket.assignee_id,
                     "queue": ticket.queue_id}, agents=agents, queues=list(queues_visible_to(request.user)))
        context["canned"] = [(c, canned_render(response=c, ticket=ticket, agent=request.user))
                             for c in canned_responses_for(request.user, ticket=ticket)[:100]]
    return render(request, "crm/support/ticket.html", context)


@login_required
@agent_required
@require_POST
def ticket_post_entry(request, pk: int):
    ticket = _editable_or_403(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("support-ticket", pk=pk)
    data = form.cleaned_data
    try:
        if data["kind"] == "note":
            ticket_note(ticket=ticket, author=request.user, body=data["body"], attachments=data["attachments"])
            if data["status"]:
                ticket_change_status(ticket=ticket, status=data["status"], actor=request.user)
            messages.success(request, "Note added.")
        else:
            ticket_reply(ticket=ticket, author=request.user, body=data["body"], status=data["status"] or None,
                         attachments=data["attachments"])
            messages.success(request, "Reply sent.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("support-ticket", pk=pk)


@login_required
@agent_required
@require_POST
def ticket_update(request, pk: int):
    ticket = _editable_or_403(request, pk)
    agents = agents_for([ticket.team_id]) if ticket.team_id else get_user_model().objects.none()
    form = TicketControlsForm(request.POST, agents=agents, queues=list(queues_visible_to(request.user)))
    if not form.is_valid():
        messages.error(request, "Check the ticket settings: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("support-ticket", pk=pk)
    data = form.cleaned_data
    try:
        if data["queue"].pk != ticket.queue_id:
            ticket = ticket_change_queue(ticket=ticket, queue=data["queue"], actor=request.user)
        if data["priority"] != ticket.priority:
            ticket = ticket_change_priority(ticket=ticket, priority=data["priority"], actor=request.user)
        if data["assignee"] != ticket.assignee_id:
            assignee = get_user_model().objects.filter(pk=data["assignee"]).first() if data["assignee"] else None
            ticket = ticket_assign(ticket=ticket, assignee=assignee, actor=request.user)
        if data["status"] != ticket.status:
            ticket = ticket_change_status(ticket=ticket, status=data["status"], actor=request.user)
        messages.success(request, "Ticket updated.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("support-ticket", pk=pk)


@login_required
@agent_required
@require_POST
def ticket_take(request, pk: int):
    ticket = _editable_or_403(request, pk)
    try:
        ticket_assign(ticket=ticket, assignee=request.user, actor=request.user)
        messages.success(request, f"Ticket #{ticket.number} is yours.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("support-ticket", pk=pk)


@login_required
@agent_required
def ticket_new(request):
    queues = queues_visible_to(request.user)
    form = NewTicketForm(request.POST or None, queues=queues)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        requester = contact_for_email(email=data["requester_email"], actor=request.user) \
            if data["requester_email"] else None
        try:
            ticket = ticket_create(subject=data["subject"], description=data["description"], requester=requester,
                                   queue=data["queue"], priority=data["priority"], channel=data["channel"],
                                   actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            return redirect("support-ticket", pk=ticket.pk)
    return render(request, "crm/support/new.html", {"form": form})


@login_required
def attachment_download(request, pk: int):
    """Files are served only to those who may see the ticket — and notes' files only to those who work it."""
    attachment = get_object_or_404(TicketAttachment.objects.select_related("entry", "entry__ticket"), pk=pk)
    ticket = ticket_for_page(request.user, attachment.entry.ticket_id)
    if ticket is None:
        raise Http404("No such file.")
    if attachment.entry.kind == "note" and not ticket_can_edit(request.user, ticket):
        raise Http404("No such file.")
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename,
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response
