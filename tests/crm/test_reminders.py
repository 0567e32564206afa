"""Task reminder e-mails: crm.services.reminders.task_reminders_send, its Celery task and the My work badge."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity, Team
from crm.services.activities import activity_log, activity_update, task_complete
from crm.services.reminders import task_reminders_send
from crm.tasks import task_reminders_send_run
from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


class RefusingBackend(LocmemBackend):
    """Django's locmem backend, except that the mail server refuses mail for refused@example.com."""

    def send_messages(self, messages):
        if any("refused@example.com" in m.to for m in messages):
            raise smtplib.SMTPRecipientsRefused({"refused@example.com": (550, b"No such user")})
        return super().send_messages(messages)


@pytest.fixture
def deal(sales_user):
    make_pipeline()
    return DealFactory(owner=sales_user, name="Acme renewal")


def teammate(manager, **kwargs):
    """A Sales user in a team ``manager`` manages (whom ``manager`` may give tasks to)."""
    user = UserFactory(**kwargs)
    team = Team.objects.filter(manager=manager).first() or TeamFactory(manager=manager)
    team.members.add(user)
    return user


def _task(user, deal, subject="Call Acme back", *, reminder_in=timedelta(minutes=-1), **kwargs):
    now = timezone.now()
    return activity_log(user=user, kind="task", subject=subject, deal=deal, due_at=now + timedelta(hours=2),
                        reminder_at=now + reminder_in if reminder_in is not None else None, **kwargs)


def test_due_reminder_is_sent_once_to_the_assignee_with_due_time_and_link(sales_user, deal, settings):
    settings.SITE_URL = "https://crm.example.com"
    settings.DEFAULT_FROM_EMAIL = "crm@example.com"
    task = _task(sales_user, deal, body="Ask about the second site.")

    assert task_reminders_send() == 1
    assert task_reminders_send() == 0

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Reminder: Call Acme back"
    assert message.to == [sales_user.email]
    assert message.from_email == "crm@example.com"
    due = timezone.localtime(task.due_at)
    assert f"Due: {due:%Y-%m-%d %H:%M}" in message.body
    assert f"https://crm.example.com{reverse('deal-detail', args=[deal.pk])}" in message.body
    assert "Acme renewal" in message.body and "Ask about the second site." in message.body
    task.refresh_from_db()
    assert task.reminder_sent_at is not None


def test_future_reminders_tasks_without_reminder_and_done_tasks_are_not_sent(sales_user, deal):
    future = _task(sales_user, deal, "Later", reminder_in=timedelta(hours=1))
    _task(sales_user, deal, "No reminder", reminder_in=None)
    done = _task(sales_user, deal, "Already done")
    task_complete(user=sales_user, activity=done)
    activity_log(user=sales_user, kind="note", subject="A note", deal=deal)

    assert task_reminders_send() == 0
    assert mail.outbox == []

    # When its time comes, the future one goes out; the done one still does not.
    assert task_reminders_send(now=timezone.now() + timedelta(hours=1, minutes=1)) == 1
    assert [m.subject for m in mail.outbox] == ["Reminder: Later"]
    future.refresh_from_db()
    done.refresh_from_db()
    assert future.reminder_sent_at is not None and done.reminder_sent_at is None


def test_reminder_goes_to_the_assignee_or_else_the_creator(sales_user, deal):
    colleague = teammate(sales_user, username="cole", role="Sales")
    leaver = teammate(sales_user, username="leaver", role="Sales")
    _task(sales_user, deal, "For Cole", assignee=colleague)
    _task(sales_user, deal, "For the leaver", assignee=leaver)
    leaver.delete()  # assignee SET_NULL: the creator is reminded instead

    assert task_reminders_send() == 2
    recipients = {m.subject: m.to for m in mail.outbox}
    assert recipients == {"Reminder: For Cole": [colleague.email], "Reminder: For the leaver": [sales_user.email]}


def test_task_with_nobody_to_remind_is_marked_without_sending(sales_user, deal):
    silent = teammate(sales_user, username="silent", role="Sales", email="")
    task = _task(sales_user, deal, "No address", assignee=silent)

    assert task_reminders_send() == 0
    assert mail.outbox == []
    task.refresh_from_db()
    assert task.reminder_sent_at is not None


def test_refused_message_stays_pending_and_is_retried(sales_user, deal, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.crm.test_reminders.RefusingBackend"}}
    refused = teammate(sales_user, username="refused", role="Sales", email="refused@example.com")
    bad = _task(sales_user, deal, "Bounces", assignee=refused)
    _task(sales_user, deal, "Delivered")

    assert task_reminders_send() == 1
    assert [m.subject for m in mail.outbox] == ["Reminder: Delivered"]
    bad.refresh_from_db()
    assert bad.reminder_sent_at is None

    refused.email = "fixed@example.com"
    refused.save(update_fields=["email"])
    assert task_reminders_send() == 1
    assert mail.outbox[-1].to == ["fixed@example.com"]


def test_changing_reminder_at_rearms_the_reminder(sales_user, deal):
    task = _task(sales_user, deal)
    assert task_reminders_send() == 1

    activity_update(user=sales_user, activity=task, changes={"subject": "Call Acme back (renamed)"})
    task.refresh_from_db()
    assert task.reminder_sent_at is not None  # other edits keep it sent
    assert task_reminders_send() == 0

    new_time = timezone.now() + timedelta(minutes=30)
    activity_update(user=sales_user, activity=task, changes={"reminder_at": new_time})
    task.refresh_from_db()
    assert task.reminder_sent_at is None
    assert task_reminders_send() == 0  # not yet
    assert task_reminders_send(now=new_time) == 1
    assert [m.subject for m in mail.outbox] == ["Reminder: Call Acme back", "Reminder: Call Acme back (renamed)"]


def test_celery_task_sends_due_reminders(sales_user, deal):
    _task(sales_user, deal)
    task_reminders_send_run.delay()
    assert [m.to for m in mail.outbox] == [[sales_user.email]]


def test_limit_caps_one_run_and_the_next_run_continues(sales_user, deal):
    for i in range(5):
        _task(sales_user, deal, f"Task {i}", reminder_in=timedelta(minutes=-10 + i))
    assert task_reminders_send(limit=3) == 3
    assert [m.subject for m in mail.outbox] == ["Reminder: Task 0", "Reminder: Task 1", "Reminder: Task 2"]
    assert task_reminders_send(limit=3) == 2
    assert len(mail.outbox) == 5


def test_my_work_shows_reminders_due_until_the_task_is_done(sales_client, sales_user, deal,
                                                            django_assert_max_num_queries):
    task = _task(sales_user, deal, "Send the proposal", reminder_in=timedelta(minutes=-1))
    _task(sales_user, deal, "Not yet", reminder_in=timedelta(hours=1))
    url = reverse("my-work")
    assert 'data-testid="reminders-due"' not in sales_client.get(url).content.decode()

    task_reminders_send()
    with django_assert_max_num_queries(10):
        html = sales_client.get(url).content.decode()
    assert 'data-testid="reminders-due"' in html and "Reminders due" in html
    assert html.count('data-testid="reminder-due"') == 1
    assert "Send the proposal" in html and reverse("deal-detail", args=[deal.pk]) in html

    task_complete(user=sales_user, activity=task)
    assert 'data-testid="reminders-due"' not in sales_client.get(url + "?partial=1").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_task_locked_by_another_worker_is_skipped_not_waited_for(sales_user, deal):
    locked_task = _task(sales_user, deal, "Locked elsewhere")
    _task(sales_user, deal, "Free")
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                Activity.objects.select_for_update().get(pk=locked_task.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        assert task_reminders_send() == 1
        assert [m.subject for m in mail.outbox] == ["Reminder: Free"]
    finally:
        release.set()
        thread.join(timeout=30)
    assert done.is_set()
    assert task_reminders_send() == 1
    assert [m.subject for m in mail.outbox] == ["Reminder: Free", "Reminder: Locked elsewhere"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_reminder_once(sales_user, deal):
    subjects = [f"Task {i}" for i in range(60)]
    for subject in subjects:
        _task(sales_user, deal, subject)
    start = threading.Barrier(2)
    sent_by_worker: list[int] = []
    errors: list[BaseException] = []

    def worker():
        total = 0
        try:
            start.wait(timeout=30)
            while sent := task_reminders_send(limit=7):
                total += sent
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            sent_by_worker.append(total)
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(sent_by_worker) == 60
    assert sorted(m.subject for m in mail.outbox) == sorted(f"Reminder: {s}" for s in subjects)
    assert not Activity.objects.filter(kind="task", reminder_sent_at__isnull=True).exists()


# --- one failing reminder does not hold back the others (issue 12) ---------------------------------------------


class DisconnectingBackend(LocmemBackend):
    """The mail server goes away after the first message of a run."""

    def send_messages(self, messages):
        if len(mail.outbox) >= 1:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_subject_with_line_breaks_is_sent_on_one_line(sales_user, deal):
    task = _task(sales_user, deal, "Call back\r\nBcc: victim@example.com\nnow")
    _task(sales_user, deal, "Other")

    assert task_reminders_send() == 2
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == ["Reminder: Call back Bcc: victim@example.com now", "Reminder: Other"]
    assert all(m.bcc == [] for m in mail.outbox)
    message = next(m for m in mail.outbox if "Call back" in m.subject).message()
    assert "victim@example.com" not in (message.get_all("Bcc") or [])
    task.refresh_from_db()
    assert task.reminder_sent_at is not None and task.reminder_attempts == 0


def test_a_failing_reminder_is_recorded_retried_a_bounded_number_of_times_and_blocks_nobody(
        sales_user, deal, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.crm.test_reminders.RefusingBackend"}}
    settings.CRM_REMINDER_MAX_ATTEMPTS = 3
    refused = teammate(sales_user, username="refused", role="Sales", email="refused@example.com")
    bad = _task(sales_user, deal, "Bounces", assignee=refused, reminder_in=timedelta(minutes=-5))
    _task(sales_user, deal, "Delivered")

    assert task_reminders_send() == 1
    assert [m.subject for m in mail.outbox] == ["Reminder: Delivered"]
    bad.refresh_from_db()
    assert bad.reminder_sent_at is None and bad.reminder_attempts == 1
    assert bad.reminder_last_error.startswith("SMTPRecipientsRefused")

    _task(sales_user, deal, "Later one")
    assert task_reminders_send() == 1  # the bad one is tried again and the new one still goes out
    assert task_reminders_send() == 0
    bad.refresh_from_db()
    assert bad.reminder_attempts == 3
    assert task_reminders_send() == 0  # given up: not tried a fourth time
    bad.refresh_from_db()
    assert bad.reminder_attempts == 3 and bad.reminder_sent_at is None

    activity_update(user=sales_user, activity=bad, changes={"reminder_at": timezone.now() - timedelta(seconds=1)})
    bad.refresh_from_db()
    assert (bad.reminder_attempts, bad.reminder_last_error) == (0, "")  # a new reminder time: a fresh budget


def test_a_recipient_address_that_breaks_the_message_is_isolated(sales_user, deal):
    broken_user = teammate(sales_user, username="broken", role="Sales", email="broken@example.com\nBcc: x@example.com")
    broken = _task(sales_user, deal, "Broken", assignee=broken_user)
    _task(sales_user, deal, "Fine")

    assert task_reminders_send() == 1
    assert [m.subject for m in mail.outbox] == ["Reminder: Fine"]
    broken.refresh_from_db()
    assert broken.reminder_attempts == 1 and broken.reminder_sent_at is None
    assert broken.reminder_last_error


def test_mail_server_outage_stops_the_run_without_spending_attempts(sales_user, deal, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.crm.test_reminders.DisconnectingBackend"}}
    for i in range(3):
        _task(sales_user, deal, f"Task {i}", reminder_in=timedelta(minutes=-10 + i))

    assert task_reminders_send() == 1
    pending = Activity.objects.filter(reminder_sent_at__isnull=True)
    assert pending.count() == 2
    assert set(pending.values_list("reminder_attempts", flat=True)) == {0}
