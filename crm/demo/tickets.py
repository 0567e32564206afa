"""Demo support desk: a business-hours calendar, two queues, SLA policies, canned responses, three more agents and
a few hundred tickets in every state over the last 60 days — some breached, some rated. Skipped if tickets exist."""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.models import BusinessCalendar, CannedResponse, Contact, SlaPolicy, Team, Ticket, TicketQueue
from crm.roles import SUPPORT
from crm.services.tickets import (
    ticket_assign,
    ticket_change_priority,
    ticket_change_status,
    ticket_create,
    ticket_note,
    ticket_reply,
)
from crm.services.tickets_csat import csat_submit, csat_token
from crm.services.tickets_mail import ticket_mail_suppressed
from crm.services.tickets_sweep import tickets_sla_sweep
from crm.services.users import user_upsert

AGENTS = [("support2", "Tom", "Triage"), ("support3", "Una", "Urgent"), ("support4", "Vic", "Billing")]
SUBJECTS = ["Cannot log in", "Invoice is wrong", "Export fails with an error", "How do I add a user?",
            "Password reset mail never arrives", "Charged twice", "Dashboard is slow", "API returns 500",
            "Feature request: dark mode", "Cancel my subscription", "Data import stuck", "Two-factor lost phone"]
REPLIES = ["Thanks for reaching out — we are looking into it.", "Could you send a screenshot?",
           "This is fixed now; please try again.", "I have refunded the duplicate charge."]
SLA = {"low": (8 * 60, 5 * 8 * 60), "normal": (4 * 60, 3 * 8 * 60), "high": (60, 8 * 60), "urgent": (30, 4 * 60)}


def demo_tickets_seed() -> None:
    if Ticket.objects.exists() or not Contact.objects.exists():
        return
    with ticket_mail_suppressed():
        _seed()


def _seed() -> None:
    team = Team.objects.get_or_create(name="Support")[0]
    billing_team = Team.objects.get_or_create(name="Support Billing")[0]
    for index, (username, first, last) in enumerate(AGENTS):
        user_upsert(username=username, password="support-demo-2026", first_name=first, last_name=last,
                    email=f"{username}@demo.example", role=SUPPORT, team=billing_team if index == 2 else team)
    sue = get_user_model().objects.filter(username="support").first()
    if sue is not None:
        billing_team.members.add(sue)
    calendar = BusinessCalendar.objects.get_or_create(name="Office hours (Berlin)", defaults={
        "timezone": "Europe/Berlin", "hours": {str(d): [["08:00", "18:00"]] for d in range(1, 6)},
        "holidays": ["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01"]})[0]
    general = TicketQueue.objects.get_or_create(name="General", defaults={
        "team": team, "email_address": "help@demo.example", "inbound_token": "demo-general-inbound",
        "round_robin": True, "calendar": calendar, "is_default": True})[0]
    billing = TicketQueue.objects.get_or_create(name="Billing", defaults={
        "team": billing_team, "email_address": "billing@demo.example", "inbound_token": "demo-billing-inbound",
        "calendar": calendar})[0]
    for priority, (first, resolution) in SLA.items():
        SlaPolicy.objects.get_or_create(priority=priority, queue=None, defaults={
            "name": f"{priority.title()} priority", "first_response_minutes": first,
            "resolution_minutes": resolution, "calendar": calendar})
    for title, body in [
        ("Greeting", "Hi {{ requester_name }},\n\nthanks for contacting us about ticket {{ ticket_number }}."),
        ("Solved", "Hi {{ requester_name }},\n\nthis is solved now. Reply to this mail if anything is left.\n\n"
                   "{{ agent_name }}"),
        ("Need details", "Hi {{ requester_name }},\n\ncould you send a screenshot and the time it happened?"),
    ]:
        CannedResponse.objects.get_or_create(title=title, defaults={"body": body})
    CannedResponse.objects.get_or_create(title="Refund issued", team=billing_team, defaults={
        "body": "Hi {{ requester_name }},\n\nwe refunded the charge; it shows in 3–5 days.\n\n{{ agent_name }}"})

    rng = random.Random(15)
    contacts = list(Contact.objects.order_by("id")[:150])
    agents = {general.pk: list(team.members.filter(is_active=True)),
              billing.pk: list(billing_team.members.filter(is_active=True))}
    now = timezone.now()
    for index in range(300):
        queue = billing if index % 4 == 0 else general
        created = now - timedelta(days=rng.uniform(0, 60))
        ticket = ticket_create(subject=rng.choice(SUBJECTS), description="Hello, " + rng.choice(SUBJECTS).lower()
                               + ". Please help.", requester=rng.choice(contacts), queue=queue,
                               priority=rng.choices(list(SLA), weights=[2, 5, 2, 1])[0],
                               channel=rng.choice(["email", "web", "phone"]), now=created)
        state = rng.choices(["new", "open", "pending", "on_hold", "solved", "closed"], weights=[3, 4, 2, 1, 5, 4])[0]
        if state == "new":
            continue
        agent = rng.choice(agents[queue.pk])
        when = created + timedelta(hours=rng.uniform(0.2, 30))
        if when > now:
            continue
        if ticket.assignee_id is None:
            ticket_assign(ticket=ticket, assignee=agent, actor=agent, now=when)
        ticket_reply(ticket=ticket, author=agent, body=rng.choice(REPLIES), now=when)
        if rng.random() < 0.3:
            ticket_note(ticket=ticket, author=agent, body="Checked the logs; see the linked deal.")
        if rng.random() < 0.1:
            ticket_change_priority(ticket=ticket, priority="urgent", actor=agent, now=when)
        if state in ("pending", "on_hold"):
            ticket_change_status(ticket=ticket, status=state, actor=agent, now=when)
            continue
        if state == "open":
            continue
        solved_at = min(now, when + timedelta(hours=rng.uniform(1, 80)))
        ticket = ticket_change_status(ticket=ticket, status="solved", actor=agent, now=solved_at)
        if rng.random() < 0.4:
            csat_submit(token=csat_token(ticket), rating=rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 6])[0],
                        comment=rng.choice(["", "Quick and friendly.", "Took too long.", "Great help!"]))
        if state == "closed":
            ticket_change_status(ticket=ticket, status="closed", actor=agent, now=solved_at + timedelta(days=2))
    tickets_sla_sweep(now=now)
