"""The business-hours SLA clock: properties across nights, weekends, holidays and DST, plus fixed examples."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from crm.services.tickets_sla import BusinessHours, add_business_seconds, business_seconds_between

BERLIN = ZoneInfo("Europe/Berlin")
NINE_TO_FIVE = BusinessHours(
    tz=BERLIN,
    hours={day: ((time(9), time(17)),) for day in range(1, 6)},
    holidays=frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31), date(2026, 3, 30)}),
)
SPLIT_SHIFT = BusinessHours(  # two shifts, a night shift to midnight, Saturday morning
    tz=ZoneInfo("America/New_York"),
    hours={1: ((time(8), time(12)), (time(13), time(17))), 2: ((time(8), time(12)), (time(13), time(17))),
           3: ((time(20), time(0)),), 4: ((time(8), time(17)),), 5: ((time(8), time(17)),), 6: ((time(9), time(12)),)},
    holidays=frozenset({date(2026, 11, 26)}),
)
CALENDARS = st.sampled_from([NINE_TO_FIVE, SPLIT_SHIFT, BusinessHours()])
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 31),
                       timezones=st.just(UTC))


def _oracle_seconds(start: datetime, end: datetime, calendar: BusinessHours) -> int:
    """Count working minutes one by one (start and end on whole minutes)."""
    total, moment = 0, start
    while moment < end:
        local = moment.astimezone(calendar.tz)
        working = calendar.always or any(
            begin <= moment < finish for day in (local.date() - timedelta(days=1), local.date())
            for begin, finish in calendar.intervals_on(day))
        total += 60 if working else 0
        moment += timedelta(minutes=1)
    return total


def _is_working(moment: datetime, calendar: BusinessHours) -> bool:
    local = moment.astimezone(calendar.tz)
    return calendar.always or any(begin <= moment <= finish for day in (local.date() - timedelta(days=1), local.date())
                                  for begin, finish in calendar.intervals_on(day))


@settings(max_examples=150, deadline=None)
@given(start=moments, seconds=st.integers(min_value=0, max_value=120 * 3600), calendar=CALENDARS)
def test_adding_then_measuring_gives_back_the_seconds(start, seconds, calendar):
    due = add_business_seconds(start, seconds, calendar)
    assert due >= start
    assert business_seconds_between(start, due, calendar) == seconds


@settings(max_examples=150, deadline=None)
@given(start=moments, seconds=st.integers(min_value=1, max_value=80 * 3600), calendar=CALENDARS)
def test_a_due_time_falls_inside_working_hours(start, seconds, calendar):
    """Targets never land at night, on a weekend or on a holiday: the clock only runs in working time."""
    due = add_business_seconds(start, seconds, calendar)
    assert _is_working(due, calendar)
    assert due.astimezone(calendar.tz).date() not in calendar.holidays or due.astimezone(calendar.tz).time() == time(0)


@settings(max_examples=150, deadline=None)
@given(a=moments, b=moments, c=moments, calendar=CALENDARS)
def test_measuring_is_additive_so_pauses_split_cleanly(a, b, c, calendar):
    """Time before a pause plus time after it is the whole: what pausing the clock relies on."""
    a, b, c = sorted([a, b, c])
    total = business_seconds_between(a, c, calendar)
    assert abs(business_seconds_between(a, b, calendar) + business_seconds_between(b, c, calendar) - total) <= 1
    assert business_seconds_between(c, a, calendar) == -total


@settings(max_examples=40, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 3, 20), max_value=datetime(2026, 4, 5), timezones=st.just(UTC)),
       minutes=st.integers(min_value=0, max_value=5 * 24 * 60), calendar=CALENDARS)
def test_measuring_agrees_with_counting_minutes(start, minutes, calendar):
    """Around the spring DST change and a holiday (Easter Monday, 30 March), against a minute-by-minute oracle."""
    start = start.replace(second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    assert business_seconds_between(start, end, calendar) == _oracle_seconds(start, end, calendar)


def test_friday_evening_ticket_is_due_on_monday():
    friday_4pm = datetime(2026, 12, 4, 16, 0, tzinfo=BERLIN)
    due = add_business_seconds(friday_4pm, 2 * 3600, NINE_TO_FIVE)
    assert due == datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN)  # 1 h on Friday, 1 h on Monday


def test_holidays_are_skipped():
    dec_23_4pm = datetime(2026, 12, 23, 16, 0, tzinfo=BERLIN)
    due = add_business_seconds(dec_23_4pm, 2 * 3600, NINE_TO_FIVE)
    # 23rd: 1 h; 24th and 25th are holidays, 26th/27th a weekend; the 28th at 10:00.
    assert due == datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN)


def test_a_night_shift_runs_to_midnight():
    wednesday_11pm = datetime(2026, 12, 2, 23, 0, tzinfo=ZoneInfo("America/New_York"))
    due = add_business_seconds(wednesday_11pm, 2 * 3600, SPLIT_SHIFT)
    assert due == datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def test_outside_hours_nothing_is_counted():
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN)
    assert business_seconds_between(saturday, saturday + timedelta(hours=30), NINE_TO_FIVE) == 0
