"""Support metrics on the reporting package: the support report (page, API, Excel) and the support panel of the
dashboard, read through the support desk's selector, against the hand-counted tickets of its own tests."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd

from reports.selectors.support import support_kpis
from tests.crm.test_tickets_metrics import data  # noqa: F401 - fixture
from tests.factories import UserFactory

PERIOD = "start=2026-11-02&end=2026-11-05"


def test_support_report_page_api_and_excel(client, data):  # noqa: F811
    client.force_login(data["alice"])
    html = client.get(f"/reports/support/?{PERIOD}").content.decode()
    for key in ("summary", "created_solved", "backlog", "per_agent", "per_queue"):
        assert f'data-testid="section-{key}"' in html
    assert "Alice A" in html.split('data-testid="table-per_agent"')[1].split("</table>")[0]
    sections = client.get(f"/api/reports/support/?{PERIOD}").json()["sections"]
    summary = sections["summary"]["rows"][0]
    assert (summary["created"], summary["solved"], summary["sla_compliance_pct"], summary["csat_avg"]) == (
        3, 2, 50.0, 3.5)
    assert summary["median_first_response_h"] == 1.5 and summary["median_resolution_h"] == 26.0
    assert [r["created"] for r in sections["created_solved"]["rows"]] == [1, 1, 1, 0]
    assert [r["backlog"] for r in sections["backlog"]["rows"]] == [1, 2, 3, 2]
    assert [(r["name"], r["solved"]) for r in sections["per_agent"]["rows"]] == [("Alice A", 2), ("Unassigned", 0)]
    assert [(r["name"], r["created"]) for r in sections["per_queue"]["rows"]] == [("Billing", 3)]
    sheets = pd.read_excel(io.BytesIO(client.get(f"/reports/support/export.xlsx?{PERIOD}").content),
                           sheet_name=None)
    assert sheets["Backlog per day"]["Open tickets"].tolist() == [1, 2, 3, 2]


def test_support_report_is_for_agents_and_admins(client, data):  # noqa: F811
    client.force_login(UserFactory(username="sam", role="Sales"))
    assert client.get(f"/reports/support/?{PERIOD}").status_code == 403
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    sections = client.get(f"/api/reports/support/?{PERIOD}").json()["sections"]
    assert sections["summary"]["rows"][0]["created"] == 4  # the ticket of another team's queue too


def test_support_panel_numbers_and_links(client, data):  # noqa: F811
    k = support_kpis(user=data["alice"], today=date(2026, 11, 5))
    assert (k["backlog"], k["created"], k["solved"], k["csat_count"]) == (2, 3, 2, 2)
    assert k["sla_compliance_pct"] == 50.0 and k["median_first_response_h"] == 1.5
    client.force_login(data["alice"])
    html = client.get("/reports/").content.decode()
    assert 'data-testid="panel-support"' in html and 'data-testid="panel-sales"' not in html
    backlog = html.split('data-testid="kpi-backlog"')[1].split("</a>")[0]
    assert "/reports/support/?start=" in html and "Open tickets" in backlog
    assert 'href="/support/metrics/"' in html
