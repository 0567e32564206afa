"""Home dashboards per role and the weekly digest e-mail."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail

from reports.models import DigestSubscription
from reports.selectors.dashboard import marketing_kpis, sales_kpis
from reports.tasks import digests_send_weekly_task
from tests.reports.sales_data import build_sales_world
from tests.reports.test_marketing_reports import events  # noqa: F401 - fixture

TODAY = date(2026, 3, 15)


@pytest.fixture
def world(db, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    return build_sales_world()


def test_sales_kpis_by_hand(world):
    k = sales_kpis(user=world.admin, today=TODAY)
    assert k == {"currency": "EUR", "open_deals": 1, "open_weighted": 600.0, "won_month": 1,
                 "won_month_amount": 2000.0, "won_last_month_amount": 3000.0, "won_change": -0.3333,
                 "closing_month": 1, "win_rate_90": 0.75, "activities_week": 0}
    bob = sales_kpis(user=world.bob, today=TODAY)
    assert bob["open_deals"] == 0 and bob["win_rate_90"] == 0.0 and bob["won_month_amount"] == 0.0
    january = sales_kpis(user=world.sam, today=date(2026, 1, 7))
    assert january["activities_week"] == 2


def test_marketing_kpis_by_hand(events):  # noqa: F811
    k = marketing_kpis(today=date(2026, 3, 2))
    assert k == {"events_today": 0, "events_yesterday": 5, "events_change": 4.0, "identified_share_7d": 0.5,
                 "identified_share_prev_7d": None, "new_profiles_7d": 2, "new_profiles_change": None,
                 "top_event_yesterday": ("Signed Up", 2)}


@pytest.mark.parametrize(("who", "panels"), [
    ("sam", ["sales"]), ("mia", ["sales"]), ("marketer", ["marketing"]), ("support", ["support"]),
    ("admin", ["sales", "marketing", "support"]),
])
def test_each_role_gets_its_panels_linking_to_reports(client, world, who, panels):
    client.force_login(getattr(world, who))
    html = client.get("/reports/").content.decode()
    shown = [p for p in ("sales", "marketing", "support") if f'data-testid="panel-{p}"' in html]
    assert shown == panels
    if "sales" in panels:
        assert 'data-testid="kpi-open_weighted"' in html and 'href="/reports/sales/#section-pipeline"' in html
    if "marketing" in panels:
        assert 'data-testid="kpi-events_yesterday"' in html and "/reports/marketing/?start=" in html
    if "support" in panels:
        assert 'href="/support/"' in html or "Support metrics" in html


def test_sam_sees_his_open_pipeline_on_the_dashboard(client, world):
    client.force_login(world.sam)
    html = client.get("/reports/").content.decode()
    kpi = html.split('data-testid="kpi-open_weighted"')[1].split("</a>")[0]
    assert "600 EUR" in kpi and "(1 deals)" in kpi


def test_weekly_digest_subscribe_send_once_and_unsubscribe_by_link(client, world, settings):
    settings.SITE_URL = "https://crm.example.com"
    world.mia.email = "mia@example.com"
    world.mia.save()
    client.force_login(world.mia)
    client.post("/reports/digest/", {"subscribe": "1"})
    assert DigestSubscription.objects.filter(user=world.mia).exists()
    digests_send_weekly_task.delay()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mia@example.com"] and message.subject == "Your weekly dashboard"
    assert "Open pipeline, weighted (1 deals): 600 EUR" in message.body
    assert "https://crm.example.com/reports/sales/" in message.body
    html = message.alternatives[0][0]
    assert "600 EUR" in html
    unsubscribe = next(line for line in message.body.splitlines() if "Unsubscribe" in line).split(": ", 1)[1]
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    digests_send_weekly_task.delay()
    assert len(mail.outbox) == 1  # not twice in one week
    client.logout()
    path = unsubscribe.removeprefix("https://crm.example.com")
    assert 'data-testid="confirm-unsubscribe"' in client.get(path).content.decode()
    assert DigestSubscription.objects.filter(user=world.mia).exists()  # a GET (link preview) changes nothing
    assert 'data-testid="unsubscribed"' in client.post(path).content.decode()
    assert not DigestSubscription.objects.filter(user=world.mia).exists()
    assert client.get(path[:-5] + "xxxx/").status_code == 404


def test_digest_toggle_needs_post_and_login(client, world):
    assert client.post("/reports/digest/", {"subscribe": "1"}).status_code == 302
    assert not DigestSubscription.objects.exists()
    client.force_login(world.sam)
    assert client.get("/reports/digest/").status_code == 405
