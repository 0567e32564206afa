"""Inbound mail: what Mailgun routes, SendGrid Inbound Parse and raw RFC 822 deliver, read into one
``InboundMessage``, then filed once per Message-ID — as a new ticket, a reply on an existing ticket, or (sent to a
user's BCC capture address) as email activities on the matching contacts' timelines. Loops are ignored."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from crm.models import Activity, ContactEmail, EmailCaptureAddress, InboundEmail, Ticket, TicketEntry, TicketQueue
from crm.services.tickets import (
    ALLOWED_ATTACHMENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    ticket_create,
    ticket_customer_reply,
)
from crm.services.tickets_contacts import contact_for_email

_REFERENCE = re.compile(r"\[#(\d{1,18})\]")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
MAILGUN_MAX_AGE_SECONDS = 15 * 60


class InboundRejected(Exception):
    """The request is not a message we can read (bad signature, no sender)."""


@dataclass
class InboundMessage:
    sender: str
    sender_name: str = ""
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    html: str = ""
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    attachments: list[UploadedFile] = field(default_factory=list)


def _ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def _addresses(*values: str | None) -> list[str]:
    return [address.lower() for _name, address in getaddresses([v for v in values if v]) if "@" in address]


# --- Parsing -----------------------------------------------------------------------------------------------

def parse_rfc822(raw: bytes) -> InboundMessage:
    """Read a whole MIME message with Python's email package."""
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)
    name, sender = parseaddr(str(message.get("From", "")))
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    attachments = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        attachments.append(SimpleUploadedFile(part.get_filename() or "attachment", payload,
                                              content_type=part.get_content_type()))
    return InboundMessage(
        sender=sender.lower(), sender_name=name, subject=str(message.get("Subject", "")),
        recipients=_addresses(str(message.get("To", "")), str(message.get("Cc", "")),
                              str(message.get("Delivered-To", ""))),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else "",
        message_id=(_ids(str(message.get("Message-ID", ""))) or [""])[0],
        in_reply_to=_ids(str(message.get("In-Reply-To", ""))), references=_ids(str(message.get("References", ""))),
        headers={k.lower(): str(v) for k, v in message.items()}, attachments=attachments)


def mailgun_signature_valid(*, timestamp: str, token: str, signature: str, key: str, now: float | None = None) -> bool:
    """Mailgun's webhook signature: HMAC-SHA256 of timestamp + token with the signing key, recent timestamp."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except (TypeError, ValueError):
        return False
    expected = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return age <= MAILGUN_MAX_AGE_SECONDS and hmac.compare_digest(expected, signature or "")


def parse_mailgun(post, files) -> InboundMessage:
    """A Mailgun route's forward (parsed fields, or ``body-mime`` for routes to a ``…/mime`` URL)."""
    if settings.MAILGUN_SIGNING_KEY and not mailgun_signature_valid(
            timestamp=post.get("timestamp", ""), token=post.get("token", ""), signature=post.get("signature", ""),
            key=settings.MAILGUN_SIGNING_KEY):
        raise InboundRejected("The Mailgun signature is missing, wrong or too old.")
    if post.get("body-mime"):
        return parse_rfc822(post["body-mime"].encode())
    try:
        header_list = json.loads(post.get("message-headers") or "[]")
    except ValueError:
        header_list = []
    headers = {str(k).lower(): str(v) for k, v in header_list if isinstance(k, str)}
    name, sender = parseaddr(post.get("from") or post.get("From") or post.get("sender", ""))
    attachments = [f for key in sorted(files) if key.startswith("attachment") for f in files.getlist(key)]
    return InboundMessage(
        sender=sender.lower(), sender_name=name, subject=post.get("subject") or post.get("Subject", ""),
        recipients=_addresses(post.get("recipient"), post.get("To"), post.get("Cc")),
        text=post.get("body-plain", ""), html=post.get("body-html", ""),
        message_id=(_ids(post.get("Message-Id") or headers.get("message-id")) or [""])[0],
        in_reply_to=_ids(post.get("In-Reply-To") or headers.get("in-reply-to")),
        references=_ids(post.get("References") or headers.get("references")), headers=headers,
        attachments=attachments)


def parse_sendgrid(post, files) -> InboundMessage:
    """SendGrid Inbound Parse (parsed fields with a raw ``headers`` block, or ``email`` with "send raw")."""
    if post.get("email"):
        return parse_rfc822(post["email"].encode())
    header_message = HeaderParser().parsestr(post.get("headers", ""))
    headers = {k.lower(): str(v) for k, v in header_message.items()}
    name, sender = parseaddr(post.get("from", ""))
    try:
        envelope = json.loads(post.get("envelope") or "{}")
    except ValueError:
        envelope = {}
    attachments = [f for key in sorted(files) if key.startswith("attachment") for f in files.getlist(key)]
    return InboundMessage(
        sender=sender.lower(), sender_name=name, subject=post.get("subject", ""),
        recipients=_addresses(post.get("to"), post.get("cc"), *(envelope.get("to") or [])),
        text=post.get("text", ""), html=post.get("html", ""),
        message_id=(_ids(headers.get("message-id")) or [""])[0], in_reply_to=_ids(headers.get("in-reply-to")),
        references=_ids(headers.get("references")), headers=headers, attachments=attachments)


# --- Filing ------------------------------------------------------------------------------------------------

def _own_addresses() -> set[str]:
    own = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()}
    own |= {a.lower() for a in TicketQueue.objects.exclude(email_address="").values_list("email_address", flat=True)}
    return own


def is_loop(message: InboundMessage) -> bool:
    """Auto-replies, bulk mail, and our own mail coming back are not customers writing."""
    headers = message.headers
    auto = headers.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return True
    if headers.get("precedence", "").strip().lower() in _BULK_PRECEDENCE:
        return True
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return True
    if message.sender in _own_addresses() or message.sender.endswith("@" + settings.SUPPORT_MAIL_DOMAIN):
        return True
    return message.message_id.endswith("@" + settings.SUPPORT_MAIL_DOMAIN + ">")


def _message_key(message: InboundMessage) -> str:
    if message.message_id:
        return message.message_id[:255]
    digest = hashlib.sha256("\x00".join([message.sender, message.subject, message.headers.get("date", ""),
                                          message.text[:2000]]).encode()).hexdigest()
    return f"<sha256-{digest[:40]}@inbound>"


def _acceptable(files: list[UploadedFile]) -> list[UploadedFile]:
    """Inbound attachments outside the limits are dropped (the mail itself is still filed)."""
    return [f for f in files if f.size <= MAX_ATTACHMENT_BYTES
            and (f.content_type or "").split(";")[0].strip().lower() in ALLOWED_ATTACHMENT_TYPES]


def ticket_for_reply(message: InboundMessage) -> Ticket | None:
    """The ticket a message answers: by In-Reply-To/References (our mails and the customer's earlier ones),
    else by the ``[#number]`` reference in the subject from the ticket's requester."""
    ids = [*message.in_reply_to, *message.references]
    if ids:
        entry = TicketEntry.objects.filter(message_id__in=ids).order_by("-id").values_list("ticket_id", flat=True)
        ticket = Ticket.objects.filter(Q(pk__in=entry[:1]) | Q(message_id__in=ids)).order_by("-id").first()
        if ticket is not None:
            return ticket
    match = _REFERENCE.search(message.subject)
    if match:
        ticket = Ticket.objects.select_related("requester").filter(number=int(match.group(1))).first()
        if ticket is not None and (ticket.requester is None or ContactEmail.objects.filter(
                contact_id=ticket.requester_id, email=message.sender).exists()):
            return ticket
    return None


def email_capture_address(user) -> str:
    """The user's personal BCC address (created on first use)."""
    import secrets

    capture, _created = EmailCaptureAddress.objects.get_or_create(
        user=user, defaults={"token": secrets.token_urlsafe(18).lower().replace("_", "x").replace("-", "y")})
    return f"bcc-{capture.token}@{settings.SUPPORT_MAIL_DOMAIN}"


def email_capture_address_of(user) -> str:
    """The user's BCC address, or "" when they have none yet."""
    token = EmailCaptureAddress.objects.filter(user=user).values_list("token", flat=True).first()
    return f"bcc-{token}@{settings.SUPPORT_MAIL_DOMAIN}" if token else ""


def _log_for_user(capture: EmailCaptureAddress, message: InboundMessage) -> int:
    """File a copy of a rep's mail on every contact it was sent to (or received from)."""
    addresses = set(message.recipients) | {message.sender}
    addresses.discard(capture.user.email.lower())
    addresses = {a for a in addresses if not a.endswith("@" + settings.SUPPORT_MAIL_DOMAIN)}
    contact_ids = sorted(set(ContactEmail.objects.filter(email__in=addresses).values_list("contact_id", flat=True)))
    now = timezone.now()
    Activity.objects.bulk_create([
        Activity(kind=Activity.Kind.EMAIL, subject=(message.subject or "(no subject)")[:200],
                 body=message.text or message.html, occurred_at=now, contact_id=contact_id, owner=capture.user,
                 created_by=capture.user)
        for contact_id in contact_ids])
    return len(contact_ids)


def inbound_process(*, token: str, message: InboundMessage) -> InboundEmail:
    """File ``message`` that arrived at the inbound URL with ``token`` (a queue's or a user's BCC token).

    Idempotent by Message-ID: a message already seen returns its first record and changes nothing.
    Raises ``LookupError`` for an unknown token and ``InboundRejected`` for a message without a sender."""
    queue = TicketQueue.objects.filter(inbound_token=token).first()
    capture = None if queue else EmailCaptureAddress.objects.select_related("user").filter(token=token).first()
    if queue is None and capture is None:
        raise LookupError("Unknown inbound address.")
    if not message.sender:
        raise InboundRejected("The message has no sender.")
    key = _message_key(message)
    existing = InboundEmail.objects.filter(message_id=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            record = InboundEmail.objects.create(message_id=key, sender=message.sender[:254],
                                                 subject=message.subject[:250], outcome=InboundEmail.Outcome.IGNORED)
            if capture is not None:
                _log_for_user(capture, message)
                record.outcome = InboundEmail.Outcome.LOGGED
            elif not is_loop(message):
                _file_support_mail(record, queue, message, key)
            record.save(update_fields=["outcome", "ticket"])
            return record
    except IntegrityError:  # the same message, filed by a concurrent delivery
        return InboundEmail.objects.get(message_id=key)


def _file_support_mail(record: InboundEmail, queue: TicketQueue, message: InboundMessage, key: str) -> None:
    contact = contact_for_email(email=message.sender, name=message.sender_name)
    attachments = _acceptable(message.attachments)
    ticket = ticket_for_reply(message)
    if ticket is not None and ticket.status != Ticket.Status.CLOSED:
        ticket_customer_reply(ticket=ticket, contact=contact, body=message.text, body_html=message.html,
                              message_id=key, attachments=attachments)
        record.outcome, record.ticket = InboundEmail.Outcome.REPLY, ticket
        return
    subject = _REFERENCE.sub("", message.subject).strip() or "(no subject)"
    ticket = ticket_create(subject=subject, description=message.text, description_html=message.html,
                           requester=contact, queue=queue, channel=Ticket.Channel.EMAIL, message_id=key,
                           attachments=attachments)
    record.outcome, record.ticket = InboundEmail.Outcome.TICKET, ticket
