"""The sales report page, its CSV/Excel downloads and its JSON API: same filters, same numbers, same scoping."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.reports.sales_data import build_sales_world

QUERY = "start=2026-01-01&end=2026-04-30"


@pytest.fixture
def world(db, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    return build_sales_world()


def test_manager_sees_his_teams_numbers_in_tables(client, world):
    client.force_login(world.mia)
    response = client.get(f"/reports/sales/?{QUERY}")
    assert response.status_code == 200
    html = response.content.decode()
    for key in ("pipeline", "won_lost", "deal_size", "stage_conversion", "activities", "leaderboard", "forecast"):
        assert f'data-testid="table-{key}"' in html
    leaderboard = html.split('data-testid="table-leaderboard"')[1].split("</table>")[0]
    assert "Sam Seller" in leaderboard and "Bob Builder" in leaderboard and "Sid South" not in leaderboard
    assert "4,000.00" in leaderboard and "100.0%" in leaderboard
    assert "vendor/plotly.min.js" in html  # charts from the app's own plotly


@pytest.mark.parametrize("who", ["marketer", "support"])
def test_roles_without_sales_get_403(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get("/reports/sales/").status_code == 403
    assert client.get("/reports/sales/export.xlsx").status_code == 403
    assert client.get("/api/reports/sales/").json()["error"] == "permission_denied"


def test_anonymous_is_sent_to_login_and_unknown_report_is_404(client, world):
    assert client.get("/reports/sales/").status_code == 302
    client.force_login(world.admin)
    assert client.get("/reports/nope/").status_code == 404


@pytest.mark.parametrize("query", ["start=2026-05-01&end=2026-01-01", "start=yesterday", "currency=<b>x",
                                   "pipeline=999999", "team=abc", "start=2000-01-01&end=2026-01-01"])
def test_hostile_filters_give_form_errors_not_500(client, world, query):
    client.force_login(world.admin)
    response = client.get(f"/reports/sales/?{query}")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode() and "<b>x" not in response.content.decode()
    assert client.get(f"/reports/sales/export.xlsx?{query}").status_code == 400
    api = client.get(f"/api/reports/sales/?{query}")
    assert api.status_code == 400 and set(api.json()) == {"error", "detail"}


def test_excel_export_opens_with_pandas_and_holds_the_page_numbers(client, world):
    client.force_login(world.admin)
    response = client.get(f"/reports/sales/export.xlsx?{QUERY}")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
    sheets = pd.read_excel(io.BytesIO(response.content), sheet_name=None)
    assert len(sheets) == 7
    won = sheets["Won and lost per month"]
    assert won["Won"].tolist() == [1, 1, 1, 0] and won["Won amount (EUR)"].tolist() == [1000, 3000, 2000, 0]
    board = sheets["Leaderboard"]
    assert board["Rep"].tolist() == ["Sam Seller", "Sid South", "Bob Builder"]
    assert board["Won (EUR)"].tolist() == [4000, 2000, 0]


def test_csv_export_per_section_and_formulas_are_neutralised(client, world):
    world.bob.first_name, world.bob.last_name = "=HYPERLINK(\"http://x\")", ""
    world.bob.save()
    client.force_login(world.admin)
    response = client.get(f"/reports/sales/export.csv?{QUERY}&section=leaderboard")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    df = pd.read_csv(io.StringIO(response.content.decode()))
    assert df["Won (EUR)"].tolist() == [4000.0, 2000.0, 0.0]
    assert df["Rep"].tolist()[2] == "'=HYPERLINK(\"http://x\")"
    xlsx = client.get(f"/reports/sales/export.xlsx?{QUERY}")
    sheet = pd.read_excel(io.BytesIO(xlsx.content), sheet_name="Leaderboard")
    assert sheet["Rep"].tolist()[2].startswith("'=")
    assert client.get(f"/reports/sales/export.csv?{QUERY}&section=nope").status_code == 400


def test_api_returns_the_same_numbers_scoped_to_the_caller(client, world):
    client.force_login(world.sam)
    body = client.get(f"/api/reports/sales/?{QUERY}").json()
    assert body["report"] == "sales" and body["filters"]["start"] == "2026-01-01"
    won = body["sections"]["won_lost"]["rows"]
    assert [r["month"] for r in won] == ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]
    assert [r["won"] for r in won] == [1, 1, 0, 0] and won[3]["win_rate"] is None
    assert [r["rep"] for r in body["sections"]["leaderboard"]["rows"]] == ["Sam Seller"]


def test_report_api_is_in_the_openapi_schema(client, world):
    client.force_login(world.admin)
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/reports/sales/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"start", "end", "pipeline", "owner", "team", "currency"}
