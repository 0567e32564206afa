"""Marketing reports (from the hourly roll-ups) against hand-counted events; the funnel page and exports."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from django.utils import timezone

from cdp.models import Profile
from reports.filters import ReportFilters
from reports.models import EventHourly
from reports.selectors import marketing
from reports.services.rollups import event_rollups_refresh
from tests.factories import UserFactory
from tests.reports.events_data import add_events, source

PERIOD = ReportFilters(start=date(2026, 2, 27), end=date(2026, 3, 2))


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def events(db, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    web, app = source("Website"), source("App")
    add_events([
        # 28 Feb 23:30 UTC is 1 March in Berlin.
        {"ts": utc(2026, 2, 28, 23, 30), "source": web, "type": "page", "anonymous_id": "a1",
         "properties": {"path": "/pricing"}},
        {"ts": utc(2026, 2, 28, 22, 30), "source": web, "type": "page", "anonymous_id": "a1",
         "context": {"page": {"path": "/"}}},
        {"ts": utc(2026, 3, 1, 8), "source": web, "type": "page", "anonymous_id": "a2", "user_id": "u2",
         "properties": {"path": "/pricing"}},
        {"ts": utc(2026, 3, 1, 9), "source": app, "event": "Signed Up", "anonymous_id": "a2", "user_id": "u2"},
        {"ts": utc(2026, 3, 1, 9, 5), "source": app, "event": "Signed Up", "anonymous_id": "a3",
         "user_id": "u3"},
        {"ts": utc(2026, 3, 1, 10), "source": app, "event": "Order Completed", "anonymous_id": "a3"},
        # Outside the period (Berlin 3 March).
        {"ts": utc(2026, 3, 2, 23, 10), "source": app, "event": "Signed Up", "anonymous_id": "a9"},
    ])
    event_rollups_refresh(since=utc(2026, 2, 1), until=utc(2026, 4, 1))
    p1, p2, p3 = Profile.objects.create(), Profile.objects.create(), Profile.objects.create()
    Profile.objects.filter(pk=p1.pk).update(created_at=utc(2026, 2, 28, 23, 59))
    Profile.objects.filter(pk=p2.pk).update(created_at=utc(2026, 3, 1, 12))
    Profile.objects.filter(pk=p3.pk).update(created_at=utc(2026, 3, 1, 13), merged_into=p2)


def test_rollups_are_idempotent_and_count_each_event_once(events):
    assert sum(EventHourly.objects.values_list("events", flat=True)) == 7
    event_rollups_refresh(since=utc(2026, 2, 1), until=utc(2026, 4, 1))
    assert sum(EventHourly.objects.values_list("events", flat=True)) == 7


def test_events_per_source_per_day_and_identified_share(events):
    volume = marketing.event_volume(filters=PERIOD)
    per_source = marketing.events_per_source_per_day(volume, PERIOD).set_index("day")
    assert list(per_source.index.strftime("%m-%d")) == ["02-27", "02-28", "03-01", "03-02"]
    assert per_source["Website"].tolist() == [0, 1, 2, 0]
    assert per_source["App"].tolist() == [0, 0, 3, 0]
    assert per_source["Total"].tolist() == [0, 1, 5, 0]
    share = marketing.identified_share_per_day(volume, PERIOD).set_index("day")
    assert share["identified"].tolist() == [0, 0, 3, 0]
    assert share["identified_share"].iloc[2] == 0.6 and pd.isna(share["identified_share"].iloc[0])


def test_new_profiles_per_day_leave_out_merged_ones(events):
    df = marketing.new_profiles_per_day(filters=PERIOD)
    assert df["profiles"].tolist() == [0, 0, 2, 0]


def test_top_events_and_pages(events):
    top = marketing.top_events(filters=PERIOD)
    assert top.to_dict(orient="records") == [
        {"event": "Signed Up", "events": 2, "share": round(2 / 3, 4)},
        {"event": "Order Completed", "events": 1, "share": round(1 / 3, 4)}]
    pages = marketing.top_pages(filters=PERIOD)
    assert pages.to_dict(orient="records") == [{"path": "/pricing", "views": 2, "share": round(2 / 3, 4)},
                                               {"path": "/", "views": 1, "share": round(1 / 3, 4)}]


def test_marketing_page_export_and_access(client, events):
    marketer = UserFactory(username="max", role="Marketing")
    client.force_login(marketer)
    response = client.get("/reports/marketing/?start=2026-02-27&end=2026-03-02")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="table-top_pages"' in html and "/pricing" in html and "60.0%" in html
    assert 'name="pipeline"' not in html  # sales filters are not offered here
    xlsx = client.get("/reports/marketing/export.xlsx?start=2026-02-27&end=2026-03-02")
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    assert sheets["Events per source per day"]["Total"].tolist() == [0, 1, 5, 0]
    rep = UserFactory(username="sam", role="Sales")
    client.force_login(rep)
    assert client.get("/reports/marketing/").status_code == 403


def test_funnel_page_opens_empty_then_builds_and_exports(client, db):
    marketer = UserFactory(username="max", role="Marketing")
    client.force_login(marketer)
    empty = client.get("/reports/funnel/")
    assert empty.status_code == 200 and 'role="alert"' not in empty.content.decode()
    now = timezone.now()
    add_events([{"ts": now - timedelta(minutes=30), "event": "View", "anonymous_id": "x"},
                {"ts": now - timedelta(minutes=20), "event": "Cart", "anonymous_id": "x"},
                {"ts": now - timedelta(minutes=10), "event": "<b>Buy</b>", "anonymous_id": "x"},
                {"ts": now - timedelta(minutes=25), "event": "View", "anonymous_id": "y"}])
    query = "step_1=View&step_2=Cart&step_3=%3Cb%3EBuy%3C%2Fb%3E&window=1&window_unit=hours"
    html = client.get(f"/reports/funnel/?{query}").content.decode()
    table = html.split('data-testid="table-funnel"')[1].split("</table>")[0]
    assert "&lt;b&gt;Buy&lt;/b&gt;" in table and "<b>Buy</b>" not in html
    assert "50.0%" in table and "600.0" in table
    csv = client.get(f"/reports/funnel/export.csv?{query}&section=funnel")
    df = pd.read_csv(io.StringIO(csv.content.decode()))
    assert df["Persons"].tolist() == [2, 1, 1]
    api = client.get(f"/api/reports/funnel/?{query}").json()
    assert [r["reached"] for r in api["sections"]["funnel"]["rows"]] == [2, 1, 1]
    bad = client.get("/api/reports/funnel/?step_1=View&window=1")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid"
    assert 'role="alert"' in client.get("/reports/funnel/?step_1=View&step_3=x").content.decode()


def test_segment_sizes_per_day_from_membership_intervals(client, db, settings):
    from segments.models import Membership, Segment

    settings.TIME_ZONE = "Europe/Berlin"
    trial, gone, later = (Segment.objects.create(name=n) for n in ("Trial", "Gone", "Later"))
    for segment, profile, entered, exited in [
        (trial, 1, utc(2026, 2, 26, 10), utc(2026, 3, 1, 12)),  # before the period; leaves on 1 March
        (trial, 2, utc(2026, 2, 28, 23, 30), None),  # 1 March in Berlin
        (trial, 3, utc(2026, 2, 27, 10), utc(2026, 2, 27, 15)),  # in and out the same day
        (trial, 4, utc(2026, 3, 2, 8), None),
        (trial, 5, utc(2026, 3, 2, 23, 30), None),  # 3 March in Berlin: after the period
        (gone, 1, utc(2026, 2, 1), utc(2026, 2, 10)),
        (later, 1, utc(2026, 3, 5), None),
    ]:
        Membership.objects.create(segment=segment, profile_id=profile, entered_at=entered, exited_at=exited)
    sizes = marketing.segment_sizes_per_day(filters=PERIOD)
    assert list(sizes.columns) == ["day", "Gone", "Trial"]
    assert sizes["Trial"].tolist() == [1, 1, 1, 2]
    assert sizes["Gone"].tolist() == [0, 0, 0, 0]

    client.force_login(UserFactory(username="max", role="Marketing"))
    html = client.get("/reports/marketing/?start=2026-02-27&end=2026-03-02").content.decode()
    table = html.split('data-testid="table-segment_sizes"')[1].split("</table>")[0]
    assert "Trial" in table and "Later" not in table
    api = client.get("/api/reports/marketing/?start=2026-02-27&end=2026-03-02").json()
    assert [r["Trial"] for r in api["sections"]["segment_sizes"]["rows"]] == [1, 1, 1, 2]


def test_no_segment_sizes_section_without_memberships(client, events):
    client.force_login(UserFactory(username="max", role="Marketing"))
    html = client.get("/reports/marketing/?start=2026-02-27&end=2026-03-02").content.decode()
    assert 'data-testid="section-top_events"' in html and 'data-testid="section-segment_sizes"' not in html
