"""Writes of activities: log a note/call/email/meeting/task, update, complete a task, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from crm.models import Activity
from crm.selectors.assignment import may_assign_owner
from crm.selectors.visibility import editable_q, scope

KIND_FIELDS = {
    Activity.Kind.CALL: {"call_outcome", "call_duration_minutes"},
    Activity.Kind.MEETING: {"meeting_start", "meeting_end"},
    Activity.Kind.TASK: {"due_at", "assignee", "reminder_at"},
}
EDITABLE_FIELDS = {"subject", "body", "occurred_at", "call_outcome", "call_duration_minutes", "meeting_start",
                   "meeting_end", "due_at", "assignee", "reminder_at"}


def _check_linked_editable(user: AbstractBaseUser, records: list[Model]) -> None:
    """Each linked record must be one ``user`` may edit (activities are edits of the record's history)."""
    q = editable_q(user)
    for record in records:
        if q is not None and not scope(type(record).objects.filter(pk=record.pk), q).exists():
            name = record._meta.verbose_name
            raise PermissionDenied(f"You may not log activities on this {name}.")


def _validate(activity: Activity) -> None:
    errors: dict[str, str] = {}
    if not (activity.subject or "").strip():
        errors["subject"] = "Give the activity a subject."
    kind = activity.kind
    if kind not in Activity.Kind.values:
        errors["kind"] = "Choose note, call, email, meeting or task."
    for other_kind, fields in KIND_FIELDS.items():
        if other_kind != kind:
            for name in fields - ({"assignee"} if kind != Activity.Kind.TASK else set()):
                if getattr(activity, name) not in (None, ""):
                    errors[name] = f"Only a {other_kind.label.lower()} has this field."
    if kind == Activity.Kind.TASK and activity.due_at is None:
        errors["due_at"] = "A task needs a due date."
    if kind == Activity.Kind.MEETING:
        if activity.meeting_start is None:
            errors["meeting_start"] = "A meeting needs a start time."
        elif activity.meeting_end and activity.meeting_end < activity.meeting_start:
            errors["meeting_end"] = "The meeting cannot end before it starts."
    if activity.call_outcome and activity.call_outcome not in Activity.CallOutcome.values:
        errors["call_outcome"] = "Choose a call outcome from the list."
    for name in ("due_at", "reminder_at", "meeting_start", "meeting_end", "occurred_at"):
        value = getattr(activity, name)
        if isinstance(value, datetime) and timezone.is_naive(value):
            errors[name] = "Give a time with a timezone."
    if errors:
        raise ValidationError(errors)


def assignee_check(*, user: AbstractBaseUser, assignee: AbstractBaseUser | None, current_id: int | None = None) -> None:
    """Raise ``ValidationError`` unless ``user`` may give a task to ``assignee``: the same rule as giving a record
    to an owner (crm.selectors.assignment), plus oneself and the task's current assignee (left unchanged)."""
    if assignee is None or assignee.pk in (user.pk, current_id):
        return
    if not may_assign_owner(user, assignee):
        raise ValidationError({"assignee": "You may assign tasks only to yourself or to members of teams you manage."})


@transaction.atomic
def activity_log(
    *,
    user: AbstractBaseUser,
    kind: str,
    subject: str,
    body: str = "",
    contact: Model | None = None,
    company: Model | None = None,
    deal: Model | None = None,
    occurred_at: datetime | None = None,
    call_outcome: str = "",
    call_duration_minutes: int | None = None,
    meeting_start: datetime | None = None,
    meeting_end: datetime | None = None,
    due_at: datetime | None = None,
    assignee: AbstractBaseUser | None = None,
    reminder_at: datetime | None = None,
) -> Activity:
    """Log an activity on a contact, company and/or deal (at least one), each of which ``user`` may edit.

    The activity is owned by ``user``; its team is the team of the first linked record that has one, so the
    record's team sees it. A task is assigned to ``user`` unless ``assignee`` is given.
    """
    linked = [r for r in (deal, contact, company) if r is not None]
    if not linked:
        raise ValidationError({"__all__": "Link the activity to a contact, a company or a deal."})
    _check_linked_editable(user, linked)
    if kind == Activity.Kind.TASK and assignee is None:
        assignee = user
    assignee_check(user=user, assignee=assignee)
    activity = Activity(
        kind=kind, subject=(subject or "").strip(), body=body or "", contact=contact, company=company, deal=deal,
        occurred_at=occurred_at or timezone.now(), call_outcome=call_outcome or "",
        call_duration_minutes=call_duration_minutes, meeting_start=meeting_start, meeting_end=meeting_end,
        due_at=due_at, assignee=assignee, reminder_at=reminder_at, owner=user, created_by=user,
        team=next((r.team for r in linked if getattr(r, "team_id", None)), None),
    )
    _validate(activity)
    activity.save()
    return activity


def _lock_editable(*, user: AbstractBaseUser, activity: Activity, allow_assignee: bool) -> Activity:
    q = editable_q(user)
    if allow_assignee and q is not None:
        q |= Q(assignee=user)
    locked = scope(Activity.objects.select_for_update(of=("self",)), q).filter(pk=activity.pk).first()
    if locked is None:
        raise PermissionDenied("You may not change this activity.")
    return locked


@transaction.atomic
def task_complete(*, user: AbstractBaseUser, activity: Activity, done: bool = True) -> Activity:
    """Mark a task done (or open again). Its assignee and those who may edit it may do so."""
    locked = _lock_editable(user=user, activity=activity, allow_assignee=True)
    if locked.kind != Activity.Kind.TASK:
        raise ValidationError({"kind": "Only tasks can be completed."})
    if locked.done != done:
        locked.done, locked.done_at = done, (timezone.now() if done else None)
        locked.save(update_fields=["done", "done_at", "updated_at"])
    return locked


@transaction.atomic
def activity_update(*, user: AbstractBaseUser, activity: Activity, changes: dict[str, Any]) -> Activity:
    """Change the fields in ``changes`` (see EDITABLE_FIELDS); links, kind and owner stay as they are."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    locked = _lock_editable(user=user, activity=activity, allow_assignee=False)
    if "assignee" in changes:
        assignee_check(user=user, assignee=changes["assignee"], current_id=locked.assignee_id)
    reminder_before = locked.reminder_at
    for name, value in changes.items():
        setattr(locked, name, value if value is not None or name not in {"subject", "body", "call_outcome"} else "")
    _validate(locked)
    if locked.reminder_at != reminder_before:
        # A new reminder time re-arms the reminder, with a fresh budget of sending attempts.
        locked.reminder_sent_at, locked.reminder_attempts, locked.reminder_last_error = None, 0, ""
    locked.save()
    return locked


@transaction.atomic
def activity_delete(*, user: AbstractBaseUser, activity: Activity) -> None:
    _lock_editable(user=user, activity=activity, allow_assignee=False).delete()


def activity_link_model(name: str) -> type[Model]:
    """The model behind a link name ("contact", "company", "deal")."""
    return apps.get_model("crm", {"contact": "Contact", "company": "Company", "deal": "Deal"}[name])


@transaction.atomic
def task_create_automated(*, contact: Model, assignee: AbstractBaseUser, subject: str, body: str = "",
                          due_at: datetime) -> Activity:
    """A task on ``contact`` created by an automation (another app acting on its own rules, e.g. a segment's
    "create task" action), not by a person: no actor to check. ``assignee`` owns it; the contact's team sees it.
    Raises ``ValidationError`` for a bad subject or due date."""
    activity = Activity(
        kind=Activity.Kind.TASK, subject=(subject or "").strip()[:200], body=body or "", contact=contact,
        occurred_at=timezone.now(), due_at=due_at, assignee=assignee, owner=assignee, created_by=None,
        team=getattr(contact, "team", None),
    )
    _validate(activity)
    activity.save()
    return activity
