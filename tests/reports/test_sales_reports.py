"""Sales reports against figures computed by hand from tests/reports/sales_data.py."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from reports.filters import ReportFilters
from reports.selectors import sales
from tests.reports.sales_data import build_sales_world

PERIOD = {"start": date(2026, 1, 1), "end": date(2026, 4, 30)}


@pytest.fixture
def world(db, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    return build_sales_world()


def _f(**kwargs) -> ReportFilters:
    return ReportFilters(**{**PERIOD, **kwargs})


def _records(df: pd.DataFrame) -> list[dict]:
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def test_won_lost_by_month_cuts_months_in_the_site_time_zone_and_keeps_empty_months(world):
    df = sales.won_lost_by_month(user=world.admin, filters=_f())
    assert [m.strftime("%Y-%m") for m in df["month"]] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert df["won"].tolist() == [1, 1, 1, 0]  # D2 closed 23:30 UTC on 31 Jan = February in Berlin
    assert df["lost"].tolist() == [0, 1, 0, 0]
    assert df["won_amount"].tolist() == [1000.0, 3000.0, 2000.0, 0.0]
    assert df["lost_amount"].tolist() == [0.0, 500.0, 0.0, 0.0]
    assert _records(df[["win_rate"]]) == [{"win_rate": 1.0}, {"win_rate": 0.5}, {"win_rate": 1.0},
                                          {"win_rate": None}]


def test_won_lost_in_utc_puts_the_late_sale_in_january(world, settings):
    settings.TIME_ZONE = "UTC"
    df = sales.won_lost_by_month(user=world.admin, filters=_f())
    assert df["won"].tolist() == [2, 0, 1, 0]


def test_amounts_stay_in_their_stored_currency(world):
    usd = sales.won_lost_by_month(user=world.admin, filters=_f(currency="USD"))
    assert usd["won_amount"].tolist() == [700.0, 0.0, 0.0, 0.0]
    gbp = sales.won_lost_by_month(user=world.admin, filters=_f(currency="GBP"))
    assert gbp["won"].sum() == 0 and len(gbp) == 4


def test_pipeline_by_stage(world):
    df = sales.pipeline_by_stage(user=world.admin, filters=_f())
    assert _records(df[["stage", "deals", "amount", "weighted"]]) == [
        {"stage": "Lead", "deals": 0, "amount": 0.0, "weighted": 0.0},
        {"stage": "Qualified", "deals": 0, "amount": 0.0, "weighted": 0.0},
        {"stage": "Proposal", "deals": 1, "amount": 1000.0, "weighted": 600.0},
        {"stage": "Won", "deals": 3, "amount": 6000.0, "weighted": 6000.0},
        {"stage": "Lost", "deals": 1, "amount": 500.0, "weighted": 0.0},
    ]
    march = sales.pipeline_by_stage(user=world.admin, filters=_f(start=date(2026, 3, 1), end=date(2026, 3, 31)))
    assert march["deals"].tolist() == [0, 0, 1, 1, 0]


def test_deal_size_and_cycle(world):
    df = sales.deal_size_and_cycle(user=world.admin, filters=_f())
    assert _records(df) == [
        {"month": "2026-01", "won": 1, "avg_amount": 1000.0, "median_amount": 1000.0, "avg_cycle_days": 15.5,
         "median_cycle_days": 15.5},
        {"month": "2026-02", "won": 1, "avg_amount": 3000.0, "median_amount": 3000.0, "avg_cycle_days": 22.0,
         "median_cycle_days": 22.0},
        {"month": "2026-03", "won": 1, "avg_amount": 2000.0, "median_amount": 2000.0, "avg_cycle_days": 68.0,
         "median_cycle_days": 68.0},
        {"month": "2026-04", "won": 0, "avg_amount": None, "median_amount": None, "avg_cycle_days": None,
         "median_cycle_days": None},
        {"month": "All", "won": 3, "avg_amount": 2000.0, "median_amount": 2000.0, "avg_cycle_days": 35.2,
         "median_cycle_days": 22.0},
    ]


def test_stage_conversion_and_time_per_stage_with_deals_moved_back_and_forth(world):
    df = sales.stage_conversion(user=world.admin, filters=_f())
    assert _records(df) == [
        # Lead: D1 2.5 days, D2 1 + 2 (two visits), D3 14, D4 59, D5 10: 88.5 / 5.
        {"stage": "Lead", "reached": 5, "to_next": 0.8, "avg_days": 17.7, "median_days": 10.0},
        # Qualified: D1 13, D2 1 + 6; D4 skipped it but reached a later stage, so it counts as reached.
        {"stage": "Qualified", "reached": 4, "to_next": 1.0, "avg_days": 10.0, "median_days": 10.0},
        # Proposal: D2 11.98, D4 9; D5 is still there (not counted yet).
        {"stage": "Proposal", "reached": 4, "to_next": 0.75, "avg_days": 10.5, "median_days": 10.5},
        {"stage": "Won", "reached": 3, "to_next": None, "avg_days": None, "median_days": None},
    ]


def test_activities_per_rep_per_week(world):
    df = sales.activities_per_rep_week(user=world.admin, filters=_f())
    assert df["week"].iloc[0] == pd.Timestamp("2025-12-29") and df["week"].iloc[-1] == pd.Timestamp("2026-04-27")
    assert len(df) == 18
    rows = df.set_index("week")
    assert rows.loc["2026-01-05", "Sam Seller"] == 2 and rows.loc["2026-01-05", "Bob Builder"] == 0
    assert rows.loc["2026-01-12", "Bob Builder"] == 1
    assert rows["Total"].sum() == 3 and rows.loc["2026-02-02", "Total"] == 0


def test_leaderboard(world):
    df = sales.leaderboard(user=world.admin, filters=_f())
    assert _records(df) == [
        {"rank": 1, "rep": "Sam Seller", "won": 2, "lost": 0, "won_amount": 4000.0, "win_rate": 1.0,
         "open_weighted": 600.0},
        {"rank": 2, "rep": "Sid South", "won": 1, "lost": 0, "won_amount": 2000.0, "win_rate": 1.0,
         "open_weighted": 0.0},
        {"rank": 3, "rep": "Bob Builder", "won": 0, "lost": 1, "won_amount": 0.0, "win_rate": 0.0,
         "open_weighted": 0.0},
    ]


def test_forecast_vs_actual(world):
    df = sales.forecast_vs_actual(user=world.admin, filters=_f())
    assert df["forecast"].tolist() == [1000.0, 3000.0, 2600.0, 0.0]
    assert df["actual"].tolist() == [1000.0, 3000.0, 2000.0, 0.0]
    assert df["difference"].tolist() == [0.0, 0.0, -600.0, 0.0]


@pytest.mark.parametrize(("who", "won_per_month", "reps"), [
    ("sam", [1, 1, 0, 0], ["Sam Seller"]),
    ("bob", [0, 0, 0, 0], ["Bob Builder"]),
    ("mia", [1, 1, 0, 0], ["Sam Seller", "Bob Builder"]),
    ("sid", [0, 0, 1, 0], ["Sid South"]),
    ("admin", [1, 1, 1, 0], ["Sam Seller", "Sid South", "Bob Builder"]),
])
def test_each_role_sees_its_own_and_its_teams_numbers(world, who, won_per_month, reps):
    user = getattr(world, who)
    assert sales.won_lost_by_month(user=user, filters=_f())["won"].tolist() == won_per_month
    assert sales.leaderboard(user=user, filters=_f())["rep"].tolist() == reps


def test_team_and_owner_filters(world):
    south = sales.leaderboard(user=world.admin, filters=_f(team_id=world.south.pk))
    assert south["rep"].tolist() == ["Sid South"]
    north = sales.won_lost_by_month(user=world.admin, filters=_f(team_id=world.north.pk))
    assert north["won"].tolist() == [1, 1, 0, 0] and north["lost"].tolist() == [0, 1, 0, 0]
    bob = sales.leaderboard(user=world.admin, filters=_f(owner_id=world.bob.pk))
    assert bob["rep"].tolist() == ["Bob Builder"]
    # A rep filtering on someone he may not see gets nothing, not their numbers.
    assert sales.leaderboard(user=world.sam, filters=_f(owner_id=world.sid.pk)).empty
