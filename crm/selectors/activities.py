"""Reads of activities: scoping, the activities of a record, and "my tasks"."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from crm.models import Activity
from crm.selectors.visibility import visible_q


def activities_visible_to(user: AbstractBaseUser) -> QuerySet[Activity]:
    """Activities ``user`` may see: by the activity's owner/team (visibility rules), plus tasks assigned to them."""
    q = visible_q(user)
    if q is None:
        return Activity.objects.all()
    return Activity.objects.filter(q | Q(assignee=user)) if user.is_authenticated else Activity.objects.none()


def activities_for(subject: Model) -> QuerySet[Activity]:
    """Every activity linked to ``subject`` (a Contact, Company or Deal). The caller has checked it may see it."""
    field = {"contact": "contact", "company": "company", "deal": "deal"}[subject._meta.model_name]
    return (Activity.objects.filter(**{field: subject})
            .select_related("created_by", "assignee").order_by("-occurred_at", "-id"))


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    today = timezone.localdate(now)
    start = timezone.make_aware(datetime.combine(today, time.min))
    return start, start + timedelta(days=1)


def my_tasks(*, user: AbstractBaseUser, now: datetime | None = None) -> dict[str, list[Activity]]:
    """Open tasks assigned to ``user``: {"overdue": [...], "today": [...]} (one query)."""
    now = now or timezone.now()
    start, end = _day_bounds(now)
    tasks = list(Activity.objects.filter(kind=Activity.Kind.TASK, done=False, assignee=user, due_at__lt=end)
                 .select_related("contact", "company", "deal").order_by("due_at", "id"))
    return {"overdue": [t for t in tasks if t.due_at < now],
            "today": [t for t in tasks if t.due_at >= now]}


def my_reminders_due(*, user: AbstractBaseUser) -> list[Activity]:
    """Open tasks assigned to ``user`` whose reminder has been sent (one query), earliest reminder first."""
    return list(Activity.objects.filter(kind=Activity.Kind.TASK, done=False, assignee=user,
                                        reminder_sent_at__isnull=False)
                .select_related("contact", "company", "deal").order_by("reminder_at", "id"))
