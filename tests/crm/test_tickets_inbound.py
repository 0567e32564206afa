"""Email-to-ticket: Mailgun, SendGrid and raw RFC 822 posts; idempotency; threading; loops; BCC capture."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from email.message import EmailMessage

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.models import Activity, Contact, InboundEmail, Ticket
from crm.services.tickets import ticket_change_status, ticket_reply
from crm.services.tickets_inbound import email_capture_address
from tests.crm.factories import ContactFactory
from tests.crm.ticket_factories import QueueFactory, agent
from tests.factories import TeamFactory, UserFactory


@pytest.fixture
def queue(db):
    return QueueFactory(team=TeamFactory(), inbound_token="s3cret-token", email_address="help@acme.example")


def _raw(*, sender="Dana Doe <dana@cust.example>", subject="Printer broken", body="It smokes.",
         message_id="<m1@cust.example>", html=None, **headers) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "help@acme.example", subject
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    message.add_attachment(b"log line", maintype="text", subtype="plain", filename="log.txt")
    return message.as_bytes()


def _post_raw(client, raw, token="s3cret-token"):
    return client.post(reverse("support-inbound", args=[token, "raw"]), data=raw, content_type="message/rfc822")


def test_new_mail_creates_ticket_and_contact_once(client, queue):
    response = _post_raw(client, _raw(html="<p>It <b>smokes</b><script>x()</script></p>"))
    assert response.status_code == 200 and response.json()["status"] == "ticket"
    ticket = Ticket.objects.get()
    assert ticket.subject == "Printer broken" and ticket.channel == "email" and ticket.queue == queue
    assert ticket.requester.email == "dana@cust.example" and ticket.requester.first_name == "Dana"
    entry = ticket.entries.get()
    assert entry.body.strip() == "It smokes." and "<b>smokes</b>" in entry.body_html and "script" not in entry.body_html
    assert entry.attachments.get().filename == "log.txt"
    again = _post_raw(client, _raw())
    assert again.json() == response.json()
    assert Ticket.objects.count() == 1 and Contact.objects.count() == 1 and InboundEmail.objects.count() == 1


def test_reply_to_our_mail_threads_and_reopens(client, queue, django_capture_on_commit_callbacks):
    _post_raw(client, _raw())
    ticket = Ticket.objects.get()
    alice = agent(queue.team, username="alice")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, author=alice, body="Turn it off.", status="solved")
    ours = next(m for m in mail.outbox if m.subject.startswith("Re:"))
    assert ours.extra_headers["In-Reply-To"] == "<m1@cust.example>"
    answer = _raw(subject="Re: whatever", body="Still smokes", message_id="<m2@cust.example>",
                  In_Reply_To=ours.extra_headers["Message-ID"])
    assert _post_raw(client, answer).json()["status"] == "reply"
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.entries.count() == 3
    assert Ticket.objects.count() == 1


def test_subject_reference_threads_only_for_the_requester(client, queue):
    _post_raw(client, _raw())
    ticket = Ticket.objects.get()
    follow = _raw(subject=f"More info [#{ticket.number}]", message_id="<m3@cust.example>")
    assert _post_raw(client, follow).json()["status"] == "reply"
    stranger = _raw(sender="eve@evil.example", subject=f"Hijack [#{ticket.number}]", message_id="<m4@evil.example>")
    assert _post_raw(client, stranger).json()["status"] == "ticket"
    assert Ticket.objects.count() == 2 and ticket.entries.count() == 2


def test_reply_on_closed_ticket_opens_a_new_one(client, queue):
    _post_raw(client, _raw())
    ticket = Ticket.objects.get()
    ticket_change_status(ticket=ticket, status="solved", actor=None)
    ticket_change_status(ticket=ticket, status="closed", actor=None)
    late = _raw(subject=f"Re: Printer broken [#{ticket.number}]", message_id="<m5@cust.example>",
                References="<m1@cust.example>")
    assert _post_raw(client, late).json()["status"] == "ticket"
    assert Ticket.objects.exclude(pk=ticket.pk).get().subject == "Re: Printer broken"


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"X_Autoreply": "yes"},
])
def test_auto_replies_are_ignored(client, queue, headers):
    assert _post_raw(client, _raw(**headers)).json()["status"] == "ignored"
    assert not Ticket.objects.exists()


def test_our_own_mail_is_ignored(client, queue):
    assert _post_raw(client, _raw(sender="help@acme.example")).json()["status"] == "ignored"
    assert _post_raw(client, _raw(message_id="<ticket-1-2@support.localhost>")).json()["status"] == "ignored"
    assert not Ticket.objects.exists()


def _mailgun_fields(key, **extra):
    timestamp, token = str(int(time.time())), "abc123"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature, "sender": "dana@cust.example",
            "from": "Dana Doe <dana@cust.example>", "recipient": "help@acme.example", "subject": "Via Mailgun",
            "body-plain": "Hello", "body-html": "<p>Hello</p>", "Message-Id": "<mg1@cust.example>",
            "message-headers": json.dumps([["Message-Id", "<mg1@cust.example>"], ["Subject", "Via Mailgun"]]),
            **extra}


def test_mailgun_route_with_signature(client, queue, settings):
    settings.MAILGUN_SIGNING_KEY = "key-123"
    url = reverse("support-inbound", args=["s3cret-token", "mailgun"])
    data = _mailgun_fields("key-123", **{"attachment-1": SimpleUploadedFile("a.pdf", b"%PDF", "application/pdf")})
    response = client.post(url, data)
    assert response.status_code == 200 and response.json()["status"] == "ticket"
    ticket = Ticket.objects.get()
    assert ticket.subject == "Via Mailgun" and ticket.entries.get().attachments.get().filename == "a.pdf"
    forged = client.post(url, _mailgun_fields("wrong-key", **{"Message-Id": "<mg2@cust.example>"}))
    assert forged.status_code == 403 and forged.json()["error"] == "rejected"
    assert Ticket.objects.count() == 1


def test_sendgrid_inbound_parse(client, queue):
    url = reverse("support-inbound", args=["s3cret-token", "sendgrid"])
    headers = "Message-ID: <sg1@cust.example>\r\nIn-Reply-To: <unknown@x>\r\nSubject: Via SendGrid\r\n"
    response = client.post(url, {"headers": headers, "from": "Dana <dana@cust.example>", "to": "help@acme.example",
                                 "subject": "Via SendGrid", "text": "Hi", "html": "<p>Hi</p>",
                                 "envelope": json.dumps({"to": ["help@acme.example"], "from": "dana@cust.example"}),
                                 "attachments": "0"})
    assert response.json()["status"] == "ticket"
    assert Ticket.objects.get().message_id == "<sg1@cust.example>"


def test_unknown_address_and_garbage_are_json_errors(client, queue):
    assert _post_raw(client, _raw(), token="nope").json()["error"] == "unknown_address"
    response = client.post(reverse("support-inbound", args=["s3cret-token", "raw"]), data=b"",
                           content_type="message/rfc822")
    assert response.status_code == 400 and response.json()["error"] == "empty"
    assert client.post(reverse("support-inbound", args=["s3cret-token", "pigeon"])).status_code == 404
    no_sender = client.post(reverse("support-inbound", args=["s3cret-token", "raw"]), data=b"Subject: x\r\n\r\nhi",
                            content_type="message/rfc822")
    assert no_sender.status_code == 400


def test_bcc_capture_logs_email_on_matching_contacts(client, db):
    rep = UserFactory(username="rep", role="Sales", email="rep@acme.example")
    address = email_capture_address(rep)
    token = address.split("@")[0].removeprefix("bcc-")
    buyer, cc = ContactFactory(email="buyer@client.example"), ContactFactory(email="cc@client.example")
    message = EmailMessage()
    message["From"], message["To"] = "rep@acme.example", "Buyer <buyer@client.example>"
    message["Cc"], message["Bcc"] = "cc@client.example, unknown@client.example", address
    message["Subject"], message["Message-ID"] = "Our offer", "<offer1@acme.example>"
    message.set_content("Please find the offer.")
    assert _post_raw(client, message.as_bytes(), token=token).json()["status"] == "logged"
    _post_raw(client, message.as_bytes(), token=token)
    logged = Activity.objects.filter(kind="email", subject="Our offer")
    assert sorted(logged.values_list("contact_id", flat=True)) == sorted([buyer.pk, cc.pk])
    assert all(a.owner_id == rep.pk for a in logged)
    assert not Ticket.objects.exists()
