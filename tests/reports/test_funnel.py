"""The funnel in SQL against a brute-force Python computation of the same definition (reports.selectors.funnel)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.models import EventProfile, RawEvent
from reports.filters import ReportFilters
from reports.selectors.funnel import FunnelQuery, funnel
from tests.reports.events_data import add_events

DAY = date(2026, 3, 10)
T0 = datetime(2026, 3, 10, tzinfo=UTC)
PERIOD = ReportFilters(start=DAY, end=DAY)


def brute_force(rows: list[dict], steps: tuple[str, ...], window: timedelta, start: datetime, end: datetime):
    """{step: (persons, median seconds from previous step)} straight from the definition."""
    events = defaultdict(list)
    for row in rows:
        person = str(row["profile_id"]) if row.get("profile_id") is not None else "a:" + row["anonymous_id"]
        events[person].append((row["ts"], row["event"]))
    best_paths = []
    for evs in events.values():
        best: list[datetime] = []
        for t1 in sorted({ts for ts, name in evs if name == steps[0] and start <= ts < end}):
            path = [t1]
            for name in steps[1:]:
                later = [ts for ts, n in evs if n == name and path[-1] < ts <= t1 + window]
                if not later:
                    break
                path.append(min(later))
            if len(path) > len(best):
                best = path
        if best:
            best_paths.append(best)
    out = {}
    for k in range(1, len(steps) + 1):
        reached = [p for p in best_paths if len(p) >= k]
        gaps = [(p[k - 1] - p[k - 2]).total_seconds() for p in reached] if k > 1 else []
        out[k] = (len(reached), statistics.median(gaps) if gaps else None)
    return out


def _sql_result(steps, window, breakdown=""):
    df = funnel(FunnelQuery(steps=steps, window=window, filters=PERIOD, breakdown=breakdown))
    return {int(r.step): (int(r.reached), None if r.median_seconds != r.median_seconds else r.median_seconds)
            for r in df.itertuples()}


event_rows = st.lists(st.tuples(st.integers(0, 4), st.sampled_from("abcd"), st.integers(-60, 1500)),
                      max_size=40)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=event_rows, steps=st.lists(st.sampled_from("abcd"), min_size=2, max_size=4).map(tuple),
       window_minutes=st.integers(1, 240))
def test_funnel_matches_brute_force_on_random_sequences(rows, steps, window_minutes):
    RawEvent.objects.all().delete()
    EventProfile.objects.all().delete()
    data = []
    for person, name, minute in rows:
        row = {"ts": T0 + timedelta(minutes=minute), "event": name, "anonymous_id": f"anon-{person}-{minute % 2}"}
        # Person 0's events carry two anonymous ids but belong to one profile: they must count as one person.
        if person == 0:
            row["profile_id"] = 7
        else:
            row["anonymous_id"] = f"anon-{person}"
        data.append(row)
    add_events(data)
    window = timedelta(minutes=window_minutes)
    expected = brute_force(data, steps, window, T0, T0 + timedelta(days=1))
    got = _sql_result(steps, window)
    assert {k: v[0] for k, v in got.items()} == {k: v[0] for k, v in expected.items()}
    for k, (_n, median) in expected.items():
        assert (got[k][1] is None) == (median is None)
        if median is not None:
            assert got[k][1] == pytest.approx(median, abs=0.1)


@pytest.mark.django_db
def test_three_step_funnel_by_hand_with_breakdown():
    rows = [
        # p1 (mobile): a, b after 10 min, c after 30 min → all three steps.
        {"ts": T0 + timedelta(hours=1), "event": "a", "anonymous_id": "p1", "properties": {"device": "mobile"}},
        {"ts": T0 + timedelta(hours=1, minutes=10), "event": "b", "anonymous_id": "p1"},
        {"ts": T0 + timedelta(hours=1, minutes=30), "event": "c", "anonymous_id": "p1"},
        # p2 (desktop): a, then b 2 hours later: outside the 1-hour window → step 1 only.
        {"ts": T0 + timedelta(hours=2), "event": "a", "anonymous_id": "p2", "properties": {"device": "desktop"}},
        {"ts": T0 + timedelta(hours=4), "event": "b", "anonymous_id": "p2"},
        # p3 (mobile): b before a does not count; a then b after 20 min → two steps.
        {"ts": T0 + timedelta(hours=3), "event": "b", "anonymous_id": "p3"},
        {"ts": T0 + timedelta(hours=3, minutes=5), "event": "a", "anonymous_id": "p3",
         "properties": {"device": "mobile"}},
        {"ts": T0 + timedelta(hours=3, minutes=25), "event": "b", "anonymous_id": "p3"},
        # p4: starts the day before the period: not counted.
        {"ts": T0 - timedelta(minutes=5), "event": "a", "anonymous_id": "p4"},
        {"ts": T0 + timedelta(minutes=1), "event": "b", "anonymous_id": "p4"},
    ]
    add_events(rows)
    df = funnel(FunnelQuery(steps=("a", "b", "c"), window=timedelta(hours=1), filters=PERIOD))
    assert df["reached"].tolist() == [3, 2, 1]
    assert df["conversion"].tolist()[1:] == [round(2 / 3, 4), round(1 / 3, 4)]
    assert df["from_previous"].tolist()[1:] == [round(2 / 3, 4), 0.5]
    assert df["median_seconds"].tolist()[1:] == [900.0, 1200.0]  # median of 10 and 20 minutes; then 20 minutes
    by_device = funnel(FunnelQuery(steps=("a", "b", "c"), window=timedelta(hours=1), filters=PERIOD,
                                   breakdown="device"))
    table = {(r.breakdown, r.step): r.reached for r in by_device.itertuples()}
    assert table == {("mobile", 1): 2, ("mobile", 2): 2, ("mobile", 3): 1,
                     ("desktop", 1): 1, ("desktop", 2): 0, ("desktop", 3): 0}
    assert by_device["breakdown"].tolist()[:3] == ["mobile"] * 3  # most persons first


@pytest.mark.django_db
def test_empty_funnel_has_zero_rows_per_step_and_bad_step_counts_are_refused():
    df = funnel(FunnelQuery(steps=("a", "b"), window=timedelta(days=1), filters=PERIOD))
    assert df["reached"].tolist() == [0, 0]
    with pytest.raises(ValueError):
        funnel(FunnelQuery(steps=("a",), window=timedelta(days=1), filters=PERIOD))
