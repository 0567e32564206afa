"""Support metrics: figures computed from known tickets, scoping, range validation, CSV export."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from crm.models import Ticket
from crm.selectors.tickets_metrics import ticket_metrics
from crm.services.tickets import ticket_change_status, ticket_create, ticket_reply
from tests.crm.ticket_factories import QueueFactory, SlaPolicyFactory, agent
from tests.factories import TeamFactory

UTC = ZoneInfo("UTC")


@pytest.fixture
def data(db, settings):
    settings.TIME_ZONE = "UTC"
    team = TeamFactory()
    queue = QueueFactory(team=team, name="Billing")
    SlaPolicyFactory(priority="normal", first_response_minutes=60, resolution_minutes=24 * 60)
    alice = agent(team, username="alice", first_name="Alice", last_name="A")
    day1 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    old = ticket_create(subject="old", queue=queue, now=day1 - timedelta(days=10))  # carried over, still open
    a = ticket_create(subject="a", queue=queue, now=day1, assignee=alice)
    ticket_reply(ticket=a, author=alice, body="hi", now=day1 + timedelta(hours=2))
    ticket_change_status(ticket=a, status="solved", actor=alice, now=day1 + timedelta(hours=4))
    b = ticket_create(subject="b", queue=queue, now=day1 + timedelta(days=1), assignee=alice)
    ticket_reply(ticket=b, author=alice, body="hi", now=day1 + timedelta(days=1, hours=1))
    ticket_change_status(ticket=b, status="solved", actor=alice, now=day1 + timedelta(days=3))
    Ticket.objects.filter(pk=b.pk).update(resolution_breached_at=day1 + timedelta(days=2), csat_rating=2)
    Ticket.objects.filter(pk=a.pk).update(csat_rating=5)
    ticket_create(subject="c", queue=queue, now=day1 + timedelta(days=2))  # open
    ticket_create(subject="elsewhere", queue=QueueFactory(), now=day1)
    return {"alice": alice, "old": old}


def test_figures(data):
    metrics = ticket_metrics(user=data["alice"], start=date(2026, 11, 2), end=date(2026, 11, 5))
    s = metrics.summary
    assert (s["created"], s["solved"]) == (3, 2)
    assert s["median_first_response_h"] == 1.5  # 2 h and 1 h; "c" has none yet
    assert s["median_resolution_h"] == (4 + 48) / 2
    assert s["sla_compliance_pct"] == 50.0 and s["csat_avg"] == 3.5
    assert metrics.daily["created"].tolist() == [1, 1, 1, 0]
    assert metrics.daily["solved"].tolist() == [1, 0, 0, 1]
    assert metrics.daily["backlog"].tolist() == [1, 2, 3, 2]  # "old" is carried in from before the range
    assert metrics.per_agent.loc["Alice A", "solved"] == 2
    assert metrics.per_queue.loc["Billing", "created"] == 3


def test_page_and_csv(data, client):
    client.force_login(data["alice"])
    url = reverse("support-metrics")
    page = client.get(url, {"start": "2026-11-02", "end": "2026-11-05"})
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="m-csat">3.5 / 5' in body
    assert "Created vs solved per day" in body and "Alice A" in body
    csv = b"".join(client.get(url, {"start": "2026-11-02", "end": "2026-11-05", "export": "daily"})
                   .streaming_content).decode("utf-8-sig")
    assert csv.splitlines()[0] == "day,created,solved,backlog"
    assert csv.splitlines()[1] == "2026-11-02,1,1,1"
    bad = client.get(url, {"start": "2026-11-05", "end": "2026-11-01"})
    assert bad.status_code == 400 and "start must be before" in bad.content.decode()
