"""Running a report's one query into a pandas frame, and the visibility-scoped row sets reports start from.

Scoping is never re-implemented here: the scoped sets are crm's own selectors (``deals_visible_to``,
``activities_visible_to``) compiled to SQL and embedded as a subquery, so a report, a list page and the API
see exactly the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from crm.models import Team
from crm.selectors.activities import activities_visible_to
from crm.selectors.deals import DealFilters, deals_visible_to
from reports.filters import ReportFilters

DEAL_COLUMNS = ("id", "name", "stage_id", "pipeline_id", "owner_id", "team_id", "amount", "currency", "probability",
                "status", "created_at", "closed_at", "expected_close_date")


def frame(sql: str, params: Sequence | None = None, *, columns: Sequence[str] | None = None,
          work_mem: str = "64MB") -> pd.DataFrame:
    """Run ONE query and return its rows as a DataFrame (column names from the cursor unless given). The query
    may use ``work_mem`` per sort or hash: a report's sorts and hashes over a few hundred thousand rows stay in
    memory instead of spilling to disk (the server default is a few MB)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
        cursor.execute(sql, list(params or []))
        rows = cursor.fetchall()
        names = list(columns) if columns else [c.name for c in cursor.description]
    return pd.DataFrame.from_records(rows, columns=names)


def compiled(queryset: QuerySet) -> tuple[str, list]:
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def _team_q(team_id: int, *, prefix: str = "") -> Q:
    """Records of a team: owned by the team, or by one of its members."""
    members = Team.members.through.objects.filter(team_id=team_id).values("user_id")
    return Q(**{f"{prefix}team_id": team_id}) | Q(**{f"{prefix}owner_id__in": members})


def visible_deals(user: AbstractBaseUser, filters: ReportFilters, *, currency: bool = True) -> tuple[str, list]:
    """SQL (and params) of the deals ``user`` may see, narrowed by pipeline/owner/team (and currency: amounts of
    different currencies are never added up), with ``DEAL_COLUMNS``."""
    qs = DealFilters(pipeline_id=filters.pipeline_id, owner_id=filters.owner_id).apply(deals_visible_to(user))
    if filters.team_id:
        qs = qs.filter(_team_q(filters.team_id))
    if currency:
        qs = qs.filter(currency=filters.currency)
    return compiled(qs.order_by().values(*DEAL_COLUMNS))


def visible_activities(user: AbstractBaseUser, filters: ReportFilters) -> tuple[str, list]:
    """SQL of the activities ``user`` may see in the period, narrowed by owner/team."""
    qs = activities_visible_to(user).filter(occurred_at__gte=filters.start_at, occurred_at__lt=filters.end_before)
    if filters.owner_id:
        qs = qs.filter(owner_id=filters.owner_id)
    if filters.team_id:
        qs = qs.filter(_team_q(filters.team_id))
    return compiled(qs.order_by().values("id", "kind", "owner_id", "occurred_at", "deal_id"))


_PLACEHOLDER = re.compile(r"\{sub(\d)\}|(?<!:):([a-z_][a-z0-9_]*)\b")


def bind(sql: str, subqueries: Sequence[tuple[str, list]], named: dict) -> tuple[str, list]:
    """The final SQL and positional parameters: ``{sub0}``, ``{sub1}``… become the scoped subqueries (in
    parentheses) and ``:name`` a %s with ``named[name]``, in order of appearance, so the subqueries' own
    positional parameters stay in place. ``::type`` casts are left alone."""
    params: list = []
    pieces: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(sql):
        pieces.append(sql[pos:match.start()])
        if match.group(1) is not None:
            sub_sql, sub_params = subqueries[int(match.group(1))]
            pieces.append(f"({sub_sql})")
            params.extend(sub_params)
        else:
            pieces.append("%s")
            params.append(named[match.group(2)])
        pos = match.end()
    pieces.append(sql[pos:])
    return "".join(pieces), params
