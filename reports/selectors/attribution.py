"""Attribution of won revenue and of leads to web campaigns: the one report that needs the CRM and the CDP in
one database.

A *touch* is a page view, by a profile linked to one of the deal's contacts, that came from a campaign
(``context.campaign`` source/medium/name, i.e. utm_*) or from another site (a referrer whose host differs from
the page's own). For a won deal, the first touch is the earliest such page view before the deal was created
and the last touch the latest one before it; the deal's whole amount goes to that touch's campaign (in the
deal's own currency, filtered like the sales report). Deals without a touch are "(no web touch)".

Touches are read from ``reports.models.Touch`` (one row per touch, kept up to date with the event roll-ups), by
the deals' profiles and time, so the report reads a few rows per deal whatever the size of the events table.
"""

from __future__ import annotations

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser

from cdp.models import Profile
from crm.models import Deal
from crm.selectors.contacts import contacts_visible_to
from reports.filters import ReportFilters
from reports.models import Touch
from reports.sections import money
from reports.sql import bind, compiled, frame, visible_deals

NO_TOUCH = "(no web touch)"
CHANNEL = ["utm_source", "utm_medium", "utm_campaign", "referrer"]

_CHANNEL_OUT = """
    COALESCE(x.utm_source, CASE WHEN x.event_id IS NOT NULL THEN '(none)' ELSE '""" + NO_TOUCH + """' END)
        AS utm_source,
    COALESCE(x.utm_medium, '(none)') AS utm_medium, COALESCE(x.utm_campaign, '(none)') AS utm_campaign,
    COALESCE(x.referrer, '(none)') AS referrer
"""


def revenue_by_touch(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Long frame: model (first/last), month (of the deal's close, site time zone), channel columns, deals,
    revenue — for the won deals of the period that ``user`` may see."""
    touches, profiles = Touch._meta.db_table, Profile._meta.db_table
    deal_contacts = Deal.contacts.through._meta.db_table
    sql = f"""
        WITH d AS (SELECT v.id, v.amount, v.created_at, v.closed_at FROM {{sub0}} v
                    WHERE v.status = 'won' AND v.closed_at >= :start_at AND v.closed_at < :end_before),
        dp AS (SELECT DISTINCT d.id AS deal_id, d.created_at, p.id AS profile_id
                 FROM d JOIN {deal_contacts} dc ON dc.deal_id = d.id
                 JOIN {profiles} p ON p.crm_contact_id = dc.contact_id),
        t AS (SELECT dp.deal_id, t.ts, t.event_id, t.utm_source, t.utm_medium, t.utm_campaign, t.referrer
                FROM dp JOIN {touches} t ON t.profile_id = dp.profile_id AND t.ts < dp.created_at),
        firsts AS (SELECT DISTINCT ON (deal_id) * FROM t ORDER BY deal_id, ts, event_id),
        lasts AS (SELECT DISTINCT ON (deal_id) * FROM t ORDER BY deal_id, ts DESC, event_id DESC)
        SELECT m.model, date_trunc('month', d.closed_at AT TIME ZONE :tz)::date AS month, {_CHANNEL_OUT},
               COUNT(*) AS deals, SUM(d.amount) AS revenue
          FROM d CROSS JOIN (VALUES ('first'), ('last')) AS m(model)
          LEFT JOIN (SELECT 'first' AS model, * FROM firsts UNION ALL SELECT 'last', * FROM lasts) x
                 ON x.deal_id = d.id AND x.model = m.model
         GROUP BY 1, 2, 3, 4, 5, 6
    """
    named = {"start_at": filters.start_at, "end_before": filters.end_before, "tz": filters.tz}
    df = frame(*bind(sql, [visible_deals(user, filters)], named))
    df["month"] = pd.to_datetime(df["month"])
    df["deals"] = df["deals"].astype("int64")
    df["revenue"] = money(df["revenue"])
    return df.sort_values(["model", "month", "revenue"], ascending=[True, True, False], ignore_index=True)


def touch_revenue(revenue: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's rows: month, channel, deals, revenue."""
    return revenue[revenue["model"] == model].drop(columns=["model"]).reset_index(drop=True)


def leads_and_customers(*, user: AbstractBaseUser, filters: ReportFilters) -> pd.DataFrame:
    """Per first-touch campaign: contacts created in the period that ``user`` may see (leads), and how many of
    them are on a won deal (customers). A contact's first touch is its linked profiles' earliest touch."""
    touches, profiles = Touch._meta.db_table, Profile._meta.db_table
    deal_contacts, deals = Deal.contacts.through._meta.db_table, Deal._meta.db_table
    contacts = compiled(contacts_visible_to(user).filter(
        created_at__gte=filters.start_at, created_at__lt=filters.end_before).order_by().values("id"))
    sql = f"""
        WITH c AS (SELECT id FROM {{sub0}} v),
        firsts AS (SELECT DISTINCT ON (p.crm_contact_id) p.crm_contact_id AS contact_id, t.event_id, t.utm_source,
                          t.utm_medium, t.utm_campaign, t.referrer
                     FROM c JOIN {profiles} p ON p.crm_contact_id = c.id
                     JOIN {touches} t ON t.profile_id = p.id
                    ORDER BY p.crm_contact_id, t.ts, t.event_id),
        won AS (SELECT DISTINCT dc.contact_id FROM {deal_contacts} dc JOIN {deals} d ON d.id = dc.deal_id
                 WHERE d.status = 'won' AND dc.contact_id IN (SELECT id FROM c))
        SELECT {_CHANNEL_OUT}, COUNT(*) AS leads, COUNT(won.contact_id) AS customers
          FROM c LEFT JOIN firsts x ON x.contact_id = c.id LEFT JOIN won ON won.contact_id = c.id
         GROUP BY 1, 2, 3, 4
    """
    df = frame(*bind(sql, [contacts], {}))
    df[["leads", "customers"]] = df[["leads", "customers"]].astype("int64")
    df["conversion"] = (df["customers"] / df["leads"]).round(4)
    return df.sort_values(["leads", "customers", "utm_source"], ascending=[False, False, True], ignore_index=True)
