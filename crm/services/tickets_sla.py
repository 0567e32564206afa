"""The SLA clock: time measured in business hours of a calendar (working hours per weekday in a timezone, minus
holidays), and the choice of a ticket's SLA policy.

Pure functions over ``BusinessHours``; the ticket services call them when a ticket is created, changes priority,
queue or status (pending/on hold pause the resolution clock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crm.models import BusinessCalendar, SlaPolicy, Ticket, TicketQueue

# A calendar that has working hours on no day of a whole year would never reach a target.
_MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class BusinessHours:
    """Working intervals per ISO weekday (1 = Monday) as (start, end) local times, end exclusive; ``time(0)`` as
    an end means midnight. Empty ``hours`` means 24/7."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_calendar(cls, calendar: BusinessCalendar | None) -> BusinessHours:
        if calendar is None:
            return cls()
        hours: dict[int, tuple[tuple[time, time], ...]] = {}
        for day, intervals in (calendar.hours or {}).items():
            parsed = tuple(sorted((time.fromisoformat(a), time.fromisoformat(b)) for a, b in intervals))
            if parsed:
                hours[int(day)] = parsed
        return cls(tz=ZoneInfo(calendar.timezone or "UTC"), hours=hours, holidays=frozenset(calendar.holidays or ()))

    @property
    def always(self) -> bool:
        return not self.hours

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of local ``day`` as aware UTC-comparable datetimes, in order."""
        if day in self.holidays:
            return []
        result = []
        for start, end in self.hours.get(day.isoweekday(), ()):
            begin = datetime.combine(day, start, tzinfo=self.tz)
            finish = datetime.combine(day + timedelta(days=1) if end == time(0) else day, end, tzinfo=self.tz)
            if finish > begin:
                result.append((begin, finish))
        return result


def _local_day(moment: datetime, calendar: BusinessHours) -> date:
    return moment.astimezone(calendar.tz).date()


def business_seconds_between(start: datetime, end: datetime, calendar: BusinessHours) -> int:
    """Working seconds from ``start`` to ``end`` (negative when ``end`` is before ``start``)."""
    if end < start:
        return -business_seconds_between(end, start, calendar)
    if calendar.always:
        return round((end - start).total_seconds())
    total = timedelta(0)
    day = _local_day(start, calendar) - timedelta(days=1)  # an interval ending at midnight may start the day before
    last = _local_day(end, calendar)
    while day <= last:
        for begin, finish in calendar.intervals_on(day):
            lo, hi = max(begin, start), min(finish, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return round(total.total_seconds())


def add_business_seconds(start: datetime, seconds: int, calendar: BusinessHours) -> datetime:
    """The instant at which ``seconds`` working seconds have passed since ``start`` (``seconds`` >= 0).

    With ``seconds == 0`` the answer is ``start`` itself. Raises ValueError for a calendar with no working time in
    three years."""
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    if calendar.always or seconds == 0:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    day = _local_day(start, calendar) - timedelta(days=1)
    for _ in range(_MAX_DAYS):
        for begin, finish in calendar.intervals_on(day):
            lo = max(begin, start)
            if finish <= lo:
                continue
            available = finish - lo
            if available >= remaining:
                return lo + remaining
            remaining -= available
        day += timedelta(days=1)
    raise ValueError("The calendar has no working hours to reach the target.")


def policy_for(*, priority: str, queue: TicketQueue | None) -> SlaPolicy | None:
    """The queue's own policy for ``priority``, else the shared one, else None."""
    policies = SlaPolicy.objects.select_related("calendar").filter(priority=priority)
    if queue is not None:
        own = next((p for p in policies if p.queue_id == queue.pk), None)
        if own is not None:
            return own
    return next((p for p in policies if p.queue_id is None), None)


def calendar_for(policy: SlaPolicy | None, queue: TicketQueue | None) -> BusinessHours:
    if policy is not None and policy.calendar is not None:
        return BusinessHours.from_calendar(policy.calendar)
    if queue is not None and queue.calendar_id:
        return BusinessHours.from_calendar(queue.calendar)
    return BusinessHours()


def sla_apply(ticket: Ticket, *, now: datetime) -> None:
    """(Re)compute the ticket's SLA targets for its current priority and queue. Sets fields without saving.

    The business time already used on resolution (created until now, minus pauses) carries over to the new
    target, so a priority change moves the due time by the difference of the targets."""
    old_policy = ticket.sla_policy if ticket.sla_policy_id else None
    elapsed: int | None = None
    if old_policy is not None:
        target = old_policy.resolution_minutes * 60
        if ticket.sla_paused_at is not None and ticket.resolution_remaining_seconds is not None:
            elapsed = target - ticket.resolution_remaining_seconds
        elif ticket.resolution_due_at is not None:
            elapsed = target - business_seconds_between(now, ticket.resolution_due_at,
                                                        calendar_for(old_policy, ticket.queue))
    policy = policy_for(priority=ticket.priority, queue=ticket.queue)
    ticket.sla_policy = policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        ticket.resolution_remaining_seconds = None
        return
    calendar = calendar_for(policy, ticket.queue)
    created = ticket.created_at or now
    if elapsed is None:
        elapsed = business_seconds_between(created, ticket.sla_paused_at or now, calendar)
    if ticket.first_response_at is None:
        ticket.first_response_due_at = add_business_seconds(created, policy.first_response_minutes * 60, calendar)
    remaining = policy.resolution_minutes * 60 - elapsed
    if ticket.sla_paused_at is not None:
        ticket.resolution_remaining_seconds, ticket.resolution_due_at = remaining, None
    else:
        ticket.resolution_remaining_seconds = None
        ticket.resolution_due_at = _due_from_remaining(now, remaining, calendar)


def _due_from_remaining(now: datetime, remaining: int, calendar: BusinessHours) -> datetime:
    if remaining >= 0:
        return add_business_seconds(now, remaining, calendar)
    # Already over target when paused: the due time lies in the past by the overdue business time.
    return now - timedelta(seconds=-remaining)


def sla_pause(ticket: Ticket, *, now: datetime) -> None:
    """Stop the resolution clock (entering pending/on hold). Sets fields without saving."""
    if ticket.sla_paused_at is not None or ticket.sla_policy_id is None or ticket.resolution_due_at is None:
        ticket.sla_paused_at = ticket.sla_paused_at or now
        return
    calendar = calendar_for(ticket.sla_policy, ticket.queue)
    ticket.resolution_remaining_seconds = business_seconds_between(now, ticket.resolution_due_at, calendar)
    ticket.resolution_due_at = None
    ticket.sla_paused_at = now


def sla_resume(ticket: Ticket, *, now: datetime) -> None:
    """Restart the resolution clock where it stopped (leaving pending/on hold). Sets fields without saving."""
    if ticket.sla_paused_at is None:
        return
    ticket.sla_paused_at = None
    if ticket.sla_policy_id is None or ticket.resolution_remaining_seconds is None:
        return
    calendar = calendar_for(ticket.sla_policy, ticket.queue)
    ticket.resolution_due_at = _due_from_remaining(now, ticket.resolution_remaining_seconds, calendar)
    ticket.resolution_remaining_seconds = None
