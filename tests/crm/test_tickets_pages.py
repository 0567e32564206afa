"""Support pages: queues with counts and bulk actions, the ticket page and its actions, web form, CSAT page,
attachments and sanitised customer HTML."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Ticket, TicketEntry
from crm.services.tickets import ticket_change_status, ticket_create
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import CannedResponseFactory, QueueFactory, SlaPolicyFactory, agent
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def desk(db):
    team = TeamFactory(name="Support EU")
    queue = QueueFactory(team=team, is_default=True)
    SlaPolicyFactory(priority="normal")
    alice = agent(team, username="alice", first_name="Alice", last_name="Agent")
    contact = ContactFactory(first_name="Carol", email="carol@customer.example")
    return {"team": team, "queue": queue, "alice": alice, "contact": contact}


def test_queues_show_counts_and_sort_by_sla(desk, client, django_assert_max_num_queries):
    for i in range(3):
        ticket_create(subject=f"unassigned {i}", requester=desk["contact"], queue=desk["queue"],
                      priority=["normal", "urgent", "low"][i])
    ticket_create(subject="mine", requester=desk["contact"], queue=desk["queue"], assignee=desk["alice"])
    ticket_create(subject="elsewhere", queue=QueueFactory())  # another team's queue
    client.force_login(desk["alice"])
    response = client.get(reverse("support-queue", args=["unassigned"]))
    body = response.content.decode()
    assert re.search(r'data-testid="count-unassigned">3<', body)
    assert re.search(r'data-testid="count-mine">1<', body)
    assert body.count('data-testid="ticket-row"') == 3 and "elsewhere" not in body
    for i in range(20):
        ticket_create(subject=f"more {i}", queue=desk["queue"])
    with django_assert_max_num_queries(14):
        client.get(reverse("support-queue", args=["unassigned"]))


def test_sales_rep_gets_a_read_only_list(desk, client):
    rep = UserFactory(username="rep", role="Sales")
    mine = ContactFactory(owner=rep)
    ticket_create(subject="Their ticket", requester=mine, queue=desk["queue"])
    ticket_create(subject="Someone else", requester=desk["contact"], queue=desk["queue"])
    client.force_login(rep)
    body = client.get(reverse("support-index")).content.decode()
    assert "Their ticket" in body and "Someone else" not in body
    assert client.get(reverse("support-queue", args=["mine"])).status_code == 302


def test_bulk_assign_and_status(desk, client):
    tickets = [ticket_create(subject=f"t{i}", queue=desk["queue"]) for i in range(3)]
    foreign = ticket_create(subject="foreign", queue=QueueFactory())
    client.force_login(desk["alice"])
    response = client.post(reverse("support-bulk"), {
        "tickets": [t.pk for t in tickets[:2]] + [foreign.pk], "assignee": "me", "status": "open",
        "next": "/support/queues/unassigned/"})
    assert response.status_code == 302
    assert set(Ticket.objects.filter(assignee=desk["alice"], status="open").values_list("pk", flat=True)) == {
        tickets[0].pk, tickets[1].pk}
    foreign.refresh_from_db()
    assert foreign.assignee_id is None and foreign.status == "new"


def test_take_reply_with_canned_response_and_solve(desk, client, django_capture_on_commit_callbacks):
    CannedResponseFactory(title="Fixed", body="Hi {{ requester_name }}, {{ ticket_number }} is fixed. {{ agent_name }}")
    CannedResponseFactory(title="Other team's", team=TeamFactory())
    ticket = ticket_create(subject="Broken", requester=desk["contact"], queue=desk["queue"])
    client.force_login(desk["alice"])
    page = client.get(reverse("support-ticket", args=[ticket.pk])).content.decode()
    assert f"Hi Carol, #{ticket.number} is fixed. Alice Agent" in page
    assert "Other team&#x27;s" not in page and "Other team's" not in page
    client.post(reverse("support-ticket-take", args=[ticket.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("support-ticket-entry", args=[ticket.pk]),
                    {"kind": "public", "body": "Hi Carol, it is fixed.", "status": "solved"})
    ticket.refresh_from_db()
    assert ticket.assignee == desk["alice"] and ticket.status == "solved" and ticket.first_response_at
    assert [m.subject for m in mail.outbox] == [f"Re: Broken [#{ticket.number}]", f"How did we do? [#{ticket.number}]"]
    history = client.get(reverse("support-ticket", args=[ticket.pk])).content.decode()
    assert "Alice Agent" in history and "Solved" in history


def test_invalid_transition_is_a_message_not_an_error(desk, client):
    ticket = ticket_create(subject="x", queue=desk["queue"])
    ticket_change_status(ticket=ticket, status="solved", actor=None)
    ticket_change_status(ticket=ticket, status="closed", actor=None)
    client.force_login(desk["alice"])
    response = client.post(reverse("support-ticket-update", args=[ticket.pk]), {
        "status": "open", "priority": "normal", "assignee": "", "queue": desk["queue"].pk}, follow=True)
    assert response.status_code == 200
    assert "cannot go from Closed to Open" in response.content.decode()


def test_customer_html_is_sanitised(desk, client):
    ticket = ticket_create(subject="html", queue=desk["queue"], requester=desk["contact"],
                           description_html='<p onclick="x()">Hello <script>alert(1)</script>'
                                            '<a href="javascript:alert(2)">link</a></p>')
    client.force_login(desk["alice"])
    body = client.get(reverse("support-ticket", args=[ticket.pk])).content.decode()
    assert "<p>Hello " in body
    assert "<script>alert(1)" not in body and "javascript:" not in body and "onclick" not in body


def test_attachments_are_limited_and_served_only_to_those_who_may_see(desk, client):
    ticket = ticket_create(subject="file", queue=desk["queue"], requester=desk["contact"])
    client.force_login(desk["alice"])
    client.post(reverse("support-ticket-entry", args=[ticket.pk]), {
        "kind": "note", "body": "log attached",
        "attachments": [SimpleUploadedFile("log.txt", b"hello", content_type="text/plain")]})
    response = client.post(reverse("support-ticket-entry", args=[ticket.pk]), {
        "kind": "note", "body": "exe", "attachments": [
            SimpleUploadedFile("x.exe", b"MZ", content_type="application/x-msdownload")]}, follow=True)
    assert "are not accepted" in response.content.decode()
    entry = TicketEntry.objects.get(body="log attached")
    attachment = entry.attachments.get()
    url = reverse("support-attachment", args=[attachment.pk])
    assert b"".join(client.get(url).streaming_content) == b"hello"
    client.force_login(agent(TeamFactory(), username="outsider"))
    assert client.get(url).status_code == 404


def test_web_form_creates_ticket_with_honeypot_and_rate_limit(desk, client, settings):
    cache.clear()
    settings.SUPPORT_WEB_FORM_RATE = "2/1m"
    data = {"name": "Dora Doe", "email": "dora@new.example", "subject": "Cannot log in", "message": "Help"}
    response = client.post(reverse("support-web-form"), data)
    assert "We received your request" in response.content.decode()
    ticket = Ticket.objects.get(subject="Cannot log in")
    assert ticket.requester.email == "dora@new.example" and ticket.channel == "web"
    assert ticket.queue == desk["queue"]
    client.post(reverse("support-web-form"), {**data, "subject": "Spam", "website": "http://spam"})
    assert not Ticket.objects.filter(subject="Spam").exists()
    assert client.post(reverse("support-web-form"), data).status_code == 429
    cache.clear()


def test_csat_page_records_once(desk, client, django_capture_on_commit_callbacks):
    ticket = ticket_create(subject="rate me", requester=desk["contact"], queue=desk["queue"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, status="solved", actor=desk["alice"])
    path = re.search(r"http://[^/]+(/help/rate/\S+/)", mail.outbox[-1].body).group(1)
    assert "Rate our support" in client.get(path).content.decode()
    response = client.post(path, {"rating": "5", "comment": "<b>great</b>"})
    assert "Thank you for your rating" in response.content.decode()
    again = client.post(path, {"rating": "1"})
    assert again.status_code == 400
    ticket.refresh_from_db()
    assert (ticket.csat_rating, ticket.csat_comment) == (5, "<b>great</b>")
    assert client.get("/help/rate/forged-token/").status_code == 400
    client.force_login(desk["alice"])
    page = client.get(reverse("support-ticket", args=[ticket.pk])).content.decode()
    assert "5/5" in page and "&lt;b&gt;great&lt;/b&gt;" in page


def test_navigation_shows_my_open_ticket_count(desk, client):
    ticket_create(subject="one", queue=desk["queue"], assignee=desk["alice"])
    ticket_create(subject="two", queue=desk["queue"], assignee=desk["alice"])
    client.force_login(desk["alice"])
    body = client.get(reverse("support-queue", args=["mine"])).content.decode()
    assert re.search(r'data-testid="nav-badge">2<', body)


def test_queue_export_notices_and_availability(desk, client):
    from crm.models import SupportNotification

    ticket = ticket_create(subject="=HYPERLINK(evil)", requester=desk["contact"], queue=desk["queue"])
    ticket_create(subject="foreign", queue=QueueFactory())
    SupportNotification.objects.create(user=desk["alice"], ticket=ticket, kind="sla_breach",
                                       text=f"Ticket #{ticket.number} missed its resolution target.")
    client.force_login(desk["alice"])
    page = client.get(reverse("support-queue", args=["unassigned"])).content.decode()
    assert "missed its resolution target" in page
    csv = b"".join(client.get(reverse("support-queue", args=["unassigned"]), {"export": "csv"})
                   .streaming_content).decode("utf-8-sig").splitlines()
    assert csv[0].startswith("number,subject") and len(csv) == 2 and "'=HYPERLINK(evil)" in csv[1]
    client.post(reverse("support-agent-prefs"), {"notifications_read": "1", "available": "0"})
    assert "missed its resolution target" not in client.get(reverse("support-queue", args=["mine"])).content.decode()
    queue = desk["queue"]
    queue.round_robin = True
    queue.save()
    bob = agent(desk["team"], username="bob")
    assert ticket_create(subject="rr", queue=queue).assignee == bob  # alice paused


def test_rep_gets_a_bcc_address(desk, client):
    rep = UserFactory(username="rep2", role="Sales")
    client.force_login(rep)
    assert 'data-testid="get-bcc"' in client.get(reverse("support-index")).content.decode()
    client.post(reverse("support-email-capture"))
    page = client.get(reverse("support-index")).content.decode()
    assert re.search(r'data-testid="bcc-address">bcc-[a-z0-9]+@support\.localhost<', page)
