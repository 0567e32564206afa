"""Task reminders: e-mail the assignee (or else the creator) of an open task once its reminder time has come."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity

logger = logging.getLogger(__name__)

# The mail server or the network is down: nothing is wrong with the reminder itself, so the run stops and every
# reminder stays pending without spending an attempt.
_OUTAGE = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError)


def header_text(text: str, *, limit: int = 150) -> str:
    """``text`` on one line (CR, LF, tabs and runs of spaces collapsed to one space), cut to ``limit`` characters.

    User text that goes into a mail header: a line break there is refused by Django (BadHeaderError) or, with a
    lesser mail library, lets the author add headers of their own."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _record_url(task: Activity) -> str:
    if task.deal_id:
        path = reverse("deal-detail", args=[task.deal_id])
    elif task.contact_id:
        path = reverse("contact-detail", args=[task.contact_id])
    else:
        path = reverse("company-detail", args=[task.company_id])
    return f"{settings.SITE_URL}{path}"


def _message(task: Activity, to: str) -> EmailMessage:
    due = timezone.localtime(task.due_at)
    record = task.deal or task.contact or task.company
    lines = [f"Task: {task.subject}", f"Due: {due:%Y-%m-%d %H:%M %Z}", f"On: {record}", _record_url(task)]
    if task.body:
        lines += ["", task.body]
    return EmailMessage(subject=f"Reminder: {header_text(task.subject)}", body="\n".join(lines) + "\n",
                        from_email=settings.DEFAULT_FROM_EMAIL, to=[to])


def task_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the reminder of up to ``limit`` open tasks whose ``reminder_at`` has come; return how many were sent.

    One e-mail per task, to its assignee or else its creator, over one mail connection. The due rows are locked
    with ``FOR UPDATE SKIP LOCKED`` until ``reminder_sent_at`` is committed, so concurrent callers never pick the
    same task and a task is reminded once (a crash between sending and committing may send it again: at least
    once, never silently lost). A task with no active recipient with an e-mail address is marked without sending.

    Each reminder fails alone: a message that cannot be built or that the mail server refuses is recorded on its
    task (``reminder_attempts``, ``reminder_last_error``), the others are still sent, and it is retried on the next
    calls until ``CRM_REMINDER_MAX_ATTEMPTS`` attempts, then given up. A mail server outage stops the run
    without counting attempts: everything left stays pending for the next call.
    """
    now = now or timezone.now()
    max_attempts = settings.CRM_REMINDER_MAX_ATTEMPTS
    with transaction.atomic():
        due = list(
            Activity.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(kind=Activity.Kind.TASK, done=False, reminder_at__isnull=False, reminder_at__lte=now,
                    reminder_sent_at__isnull=True, reminder_attempts__lt=max_attempts)
            .select_related("assignee", "created_by", "deal", "contact", "company")
            .order_by("reminder_at", "id")[:limit]
        )
        if not due:
            return 0
        handled: list[int] = []
        failed: dict[int, str] = {}
        sent = 0
        with mailers.default as connection:
            for task in due:
                user = task.assignee or task.created_by
                if user is None or not user.is_active or not user.email:
                    logger.info("Task %s has nobody to remind; marking its reminder as handled", task.pk)
                    handled.append(task.pk)
                    continue
                try:
                    connection.send_messages([_message(task, user.email)])
                except _OUTAGE:
                    logger.exception("Mail server unavailable; the remaining reminders wait for the next run")
                    break
                except Exception as exc:  # one broken reminder must not hold back the others
                    logger.exception("Reminder for task %s not sent (attempt %s of %s)", task.pk,
                                     task.reminder_attempts + 1, max_attempts)
                    failed[task.pk] = f"{type(exc).__name__}: {exc}"[:500]
                    continue
                handled.append(task.pk)
                sent += 1
        Activity.objects.filter(pk__in=handled).update(reminder_sent_at=now, reminder_last_error="")
        for pk, error in failed.items():
            Activity.objects.filter(pk=pk).update(reminder_attempts=F("reminder_attempts") + 1,
                                                  reminder_last_error=error)
    return sent
