"""Sales reports. Every function takes the viewer and the filters, runs ONE query over the deals (or
activities) the viewer may see, and returns a pandas frame with every period of the filter present.

Money is summed only within one currency (``filters.currency``), as stored: amounts are never converted.
Months and weeks are cut in the site's time zone.
"""

from __future__ import annotations

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser

from reports.filters import ReportFilters
from reports.sections import money, month_index, ratio, week_index
from reports.sql import bind, frame, visible_activities, visible_deals

# A user's display name in SQL (the same as get_full_name() or username).
USER_NAME = "COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''), u.username, 'Unassigned')"


def _period(filters: ReportFilters) -> dict:
    return {"start": filters.start, "end": filters.end, "start_at": filters.start_at,
            "end_before": filters.end_before, "tz": filters.tz}


def _run(sql: str, deals: tuple[str, list], named: dict) -> pd.DataFrame:
    return frame(*bind(sql, [deals], named))


def pipeline_by_stage(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Per stage (of the filtered pipeline, or all): deals, amount and weighted amount (amount × probability).
    Open stages count open deals expected to close in the period (or without a date); won and lost stages count
    deals closed in the period. Stages without deals are present with zeros."""
    sql = """
        SELECT p.name AS pipeline, s.name AS stage, COUNT(d.id) AS deals,
               COALESCE(SUM(d.amount), 0) AS amount, COALESCE(SUM(d.amount * d.probability / 100.0), 0) AS weighted
          FROM crm_stage s JOIN crm_pipeline p ON p.id = s.pipeline_id
          LEFT JOIN {sub0} d ON d.stage_id = s.id AND (
               (d.status = 'open' AND (d.expected_close_date IS NULL
                                       OR d.expected_close_date BETWEEN :start AND :end))
            OR (d.status <> 'open' AND d.closed_at >= :start_at AND d.closed_at < :end_before))
         WHERE (:pipeline::bigint IS NULL OR s.pipeline_id = :pipeline)
         GROUP BY p.id, p.name, p."order", s.id, s.name, s."order"
         ORDER BY p."order", p.name, s."order"
    """
    df = _run(sql, visible_deals(user, filters), {**_period(filters), "pipeline": filters.pipeline_id})
    df["deals"] = df["deals"].astype(int)
    df["amount"] = money(df["amount"])
    df["weighted"] = money(df["weighted"])
    return df


def won_lost_by_month(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Per month of the period (by close date): deals won and lost, their amounts, and the win rate
    won / (won + lost) (missing where nothing closed)."""
    sql = """
        SELECT date_trunc('month', d.closed_at AT TIME ZONE :tz)::date AS month,
               COUNT(*) FILTER (WHERE d.status = 'won') AS won, COUNT(*) FILTER (WHERE d.status = 'lost') AS lost,
               COALESCE(SUM(d.amount) FILTER (WHERE d.status = 'won'), 0) AS won_amount,
               COALESCE(SUM(d.amount) FILTER (WHERE d.status = 'lost'), 0) AS lost_amount
          FROM {sub0} d
         WHERE d.status IN ('won', 'lost') AND d.closed_at >= :start_at AND d.closed_at < :end_before
         GROUP BY 1
    """
    df = _run(sql, visible_deals(user, filters), _period(filters))
    df["month"] = pd.to_datetime(df["month"])
    df = (df.set_index("month").reindex(month_index(filters.start, filters.end), fill_value=0)
          .rename_axis("month").reset_index())
    df[["won", "lost"]] = df[["won", "lost"]].astype(int)
    df["won_amount"], df["lost_amount"] = money(df["won_amount"]), money(df["lost_amount"])
    df["win_rate"] = ratio(df["won"], df["won"] + df["lost"])
    return df


def deal_size_and_cycle(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Per month of the period and overall, for deals won in it: count, average and median amount, average and
    median sales cycle in days (creation to close)."""
    sql = """
        SELECT date_trunc('month', d.closed_at AT TIME ZONE :tz)::date AS month, d.amount,
               EXTRACT(EPOCH FROM d.closed_at - d.created_at) / 86400.0 AS cycle_days
          FROM {sub0} d
         WHERE d.status = 'won' AND d.closed_at >= :start_at AND d.closed_at < :end_before
    """
    df = _run(sql, visible_deals(user, filters), _period(filters))
    df["month"] = pd.to_datetime(df["month"])
    df["amount"] = money(df["amount"])
    df["cycle_days"] = pd.to_numeric(df["cycle_days"]).astype(float)
    aggregations = {"won": ("amount", "size"), "avg_amount": ("amount", "mean"),
                    "median_amount": ("amount", "median"), "avg_cycle_days": ("cycle_days", "mean"),
                    "median_cycle_days": ("cycle_days", "median")}
    per_month = (df.groupby("month").agg(**aggregations).reindex(month_index(filters.start, filters.end))
                 .rename_axis("month").reset_index())
    per_month["month"] = per_month["month"].dt.strftime("%Y-%m")
    # Column by column: DataFrame.agg with named aggregations fails on a period without won deals (no rows).
    overall = {k: len(df) if f == "size" else df[c].agg(f) for k, (c, f) in aggregations.items()}
    total = pd.DataFrame([{"month": "All", **overall}])
    out = pd.concat([per_month, total], ignore_index=True)
    out["won"] = out["won"].fillna(0).astype(int)
    for column in ("avg_amount", "median_amount"):
        out[column] = out[column].astype(float).round(2)
    for column in ("avg_cycle_days", "median_cycle_days"):
        out[column] = out[column].astype(float).round(1)
    return out


def stage_conversion(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """For deals of one pipeline (the filtered one, else the default) created in the period, from their stage
    history: per stage (in order, lost stages left out) how many deals reached it (entered it or a later stage),
    the share of those that reached the next stage, and the days spent in it (finished visits of a deal added up; the
    stage a deal is in now does not count yet), average and median over the deals that were in it."""
    # The per-stage figures are computed once (MATERIALIZED): inlined, the planner (which expects a few hundred
    # deal-stages) re-ran them for each stage of the pipeline.
    sql = """
        WITH pl AS (SELECT COALESCE(:pipeline::bigint, (SELECT id FROM crm_pipeline
                                                        ORDER BY is_default DESC, "order", name LIMIT 1)) AS id),
        d AS (SELECT id FROM {sub0} v WHERE v.pipeline_id = (SELECT id FROM pl)
                     AND v.created_at >= :start_at AND v.created_at < :end_before),
        ch AS MATERIALIZED (SELECT c.deal_id, c.to_stage_id AS stage_id, c.changed_at,
                      LEAD(c.changed_at) OVER (PARTITION BY c.deal_id ORDER BY c.changed_at, c.id) AS left_at
                 FROM crm_dealstagechange c JOIN d ON d.id = c.deal_id),
        stay AS (SELECT stage_id, deal_id,
                        SUM(date_part('epoch', left_at - changed_at)) / 86400.0 AS days
                   FROM ch WHERE left_at IS NOT NULL GROUP BY 1, 2),
        furthest AS (SELECT MAX(s."order") AS max_order
                       FROM ch JOIN crm_stage s ON s.id = ch.stage_id AND NOT s.is_lost GROUP BY ch.deal_id),
        per_order AS MATERIALIZED (SELECT max_order, COUNT(*) AS n FROM furthest GROUP BY 1),
        times AS MATERIALIZED (SELECT stage_id, AVG(days) AS avg_days,
                         percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days
                    FROM stay GROUP BY 1)
        SELECT s.name AS stage, s.is_won,
               (SELECT COALESCE(SUM(n), 0) FROM per_order WHERE max_order >= s."order") AS reached,
               t.avg_days, t.median_days
          FROM crm_stage s LEFT JOIN times t ON t.stage_id = s.id
         WHERE s.pipeline_id = (SELECT id FROM pl) AND NOT s.is_lost
         ORDER BY s."order"
    """
    df = _run(sql, visible_deals(user, filters), {**_period(filters), "pipeline": filters.pipeline_id})
    df["reached"] = df["reached"].astype(int)
    df["to_next"] = ratio(df["reached"].shift(-1), df["reached"])
    # Won stages end the pipeline: no next stage, and time "in" them is time after the sale.
    df.loc[df["is_won"], ["to_next", "avg_days", "median_days"]] = None
    df.loc[df.index[-1:], "to_next"] = None
    for column in ("avg_days", "median_days"):
        df[column] = pd.to_numeric(df[column]).astype(float).round(1)
    return df.drop(columns=["is_won"])[["stage", "reached", "to_next", "avg_days", "median_days"]]


def activities_per_rep_week(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Activities (all kinds) per owner per week (Mondays, site time zone): one row per week of the period, one
    column per rep, and a total."""
    sql = """
        SELECT w.week, """ + USER_NAME + """ AS rep, w.n
          FROM (SELECT date_trunc('week', a.occurred_at AT TIME ZONE :tz)::date AS week, a.owner_id, COUNT(*) AS n
                  FROM {sub0} a GROUP BY 1, 2) AS w
          LEFT JOIN auth_user u ON u.id = w.owner_id
    """
    df = frame(*bind(sql, [visible_activities(user, filters)], _period(filters)))
    df["week"] = pd.to_datetime(df["week"])
    table = (df.pivot_table(index="week", columns="rep", values="n", aggfunc="sum", fill_value=0)
             .reindex(week_index(filters.start, filters.end), fill_value=0))
    table = table.astype(int)
    table["Total"] = table.sum(axis=1)
    table.columns.name = None
    return table.rename_axis("week").reset_index()


def leaderboard(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Owners ranked by amount won in the period: deals won and lost, amount won, win rate, and the weighted
    amount of their open deals expected to close in the period."""
    sql = """
        SELECT """ + USER_NAME + """ AS rep,
               COUNT(*) FILTER (WHERE d.status = 'won' AND d.closed_at >= :start_at
                                AND d.closed_at < :end_before) AS won,
               COUNT(*) FILTER (WHERE d.status = 'lost' AND d.closed_at >= :start_at
                                AND d.closed_at < :end_before) AS lost,
               COALESCE(SUM(d.amount) FILTER (WHERE d.status = 'won' AND d.closed_at >= :start_at
                                              AND d.closed_at < :end_before), 0) AS won_amount,
               COALESCE(SUM(d.amount * d.probability / 100.0) FILTER (
                   WHERE d.status = 'open' AND d.expected_close_date BETWEEN :start AND :end), 0) AS open_weighted
          FROM {sub0} d LEFT JOIN auth_user u ON u.id = d.owner_id
         WHERE (d.status = 'open' AND d.expected_close_date BETWEEN :start AND :end)
            OR (d.status <> 'open' AND d.closed_at >= :start_at AND d.closed_at < :end_before)
         GROUP BY d.owner_id, 1
    """
    df = _run(sql, visible_deals(user, filters), _period(filters))
    df[["won", "lost"]] = df[["won", "lost"]].astype(int)
    df["won_amount"], df["open_weighted"] = money(df["won_amount"]), money(df["open_weighted"])
    df["win_rate"] = ratio(df["won"], df["won"] + df["lost"])
    df = df.sort_values(["won_amount", "won", "rep"], ascending=[False, False, True], ignore_index=True)
    df.insert(0, "rank", range(1, len(df) + 1))
    return df[["rank", "rep", "won", "lost", "won_amount", "win_rate", "open_weighted"]]


def forecast_vs_actual(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Per month of the period: the forecast (amount × probability of the deals expected to close that month, at
    their probability as stored: won deals count fully, lost ones not at all), the amount actually won in that
    month (by close date), and actual − forecast."""
    sql = """
        SELECT kind, month, SUM(value) AS value FROM (
            SELECT 'forecast' AS kind, date_trunc('month', d.expected_close_date)::date AS month,
                   d.amount * d.probability / 100.0 AS value
              FROM {sub0} d WHERE d.expected_close_date BETWEEN :start AND :end
            UNION ALL
            SELECT 'actual', date_trunc('month', d.closed_at AT TIME ZONE :tz)::date, d.amount
              FROM {sub0} d WHERE d.status = 'won' AND d.closed_at >= :start_at AND d.closed_at < :end_before
        ) AS x GROUP BY 1, 2
    """
    deals = visible_deals(user, filters)
    df = frame(*bind(sql, [deals], _period(filters)))
    df["month"] = pd.to_datetime(df["month"])
    df["value"] = money(df["value"])
    table = (df.pivot_table(index="month", columns="kind", values="value", aggfunc="sum", fill_value=0.0)
             .reindex(index=month_index(filters.start, filters.end), columns=["forecast", "actual"], fill_value=0.0))
    table.columns.name = None
    table = table.rename_axis("month").reset_index()
    table["difference"] = (table["actual"] - table["forecast"]).round(2)
    return table
