"""Running a checked rule: which profiles match, how many, a sample (the builder preview, API and refresh all
go through the one compiler)."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from segments.rules.compiler import Compiled, compile_rule


def rule_sql(norm: dict, *, now: dt.datetime | None = None, profile_ids: list[int] | None = None) -> Compiled:
    return compile_rule(norm, now=now or timezone.now(), profile_ids=profile_ids)


def rule_profile_ids(norm: dict, *, now: dt.datetime | None = None, profile_ids: list[int] | None = None) -> set[int]:
    """Ids of the surviving profiles matching ``norm`` (among ``profile_ids`` if given)."""
    compiled = rule_sql(norm, now=now, profile_ids=profile_ids)
    with connection.cursor() as cur:
        cur.execute(compiled.sql, compiled.params)
        return {row[0] for row in cur.fetchall()}


def rule_preview(norm: dict, *, now: dt.datetime | None = None, sample: int = 10,
                 timeout_ms: int = 5000) -> tuple[int, list[int]]:
    """(count, ids of a sample of matching profiles, newest first), each query cut off after ``timeout_ms``
    (raises django.db.OperationalError on timeout: the caller reports "too slow")."""
    compiled = rule_sql(norm, now=now)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT set_config('statement_timeout', %s, true)", [str(int(timeout_ms))])
        # One evaluation of the rule gives both the count and the sample (the rule is the expensive part).
        cur.execute(f"SELECT id, count(*) OVER () FROM ({compiled.sql}) m ORDER BY id DESC LIMIT %(limit)s",
                    {**compiled.params, "limit": sample})
        rows = cur.fetchall()
    return (rows[0][1] if rows else 0), [row[0] for row in rows]
