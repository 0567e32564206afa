"""Task reminders: e-mail the assignee (or else the creator) of an open task once its reminder time has come."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity

logger = logging.getLogger(__name__)


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
    return EmailMessage(subject=f"Reminder: {task.subject}", body="\n".join(lines) + "\n",
                        from_email=settings.DEFAULT_FROM_EMAIL, to=[to])


def task_reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the reminder of up to ``limit`` open tasks whose ``reminder_at`` has come; return how many were sent.

    One e-mail per task, to its assignee or else its creator, over one mail connection. The due rows are locked
    with ``FOR UPDATE SKIP LOCKED`` until ``reminder_sent_at`` is committed, so concurrent callers never pick the
    same task and a task is reminded once (a crash between sending and committing may send it again: at least
    once, never silently lost). A task with no active recipient with an e-mail address is marked without sending;
    a message the mail server refuses stays pending and is retried on the next call.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Activity.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(kind=Activity.Kind.TASK, done=False, reminder_at__isnull=False, reminder_at__lte=now,
                    reminder_sent_at__isnull=True)
            .select_related("assignee", "created_by", "deal", "contact", "company")
            .order_by("reminder_at", "id")[:limit]
        )
        if not due:
            return 0
        handled: list[int] = []
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
                except (smtplib.SMTPException, OSError):
                    logger.exception("Reminder for task %s not sent; retrying on the next run", task.pk)
                    continue
                handled.append(task.pk)
                sent += 1
        Activity.objects.filter(pk__in=handled).update(reminder_sent_at=now)
    return sent
