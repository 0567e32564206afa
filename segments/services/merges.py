"""Memberships follow identity resolution: open intervals of a profile merged into another move to the
survivor (or close, when the survivor is already a member), so history and "member since" carry over."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from cdp.selectors.segment_sources import cdp_tables, surviving_profile_ids
from segments.models import Membership


def memberships_follow_merges(*, profile_ids: list[int]) -> int:
    """Move the open memberships of profiles merged into any of ``profile_ids`` to the profile that survives
    them; returns how many intervals moved or closed. Idempotent."""
    t = cdp_tables()
    with connection.cursor() as cur:
        cur.execute(f"SELECT {t.profile_id} FROM {t.profile} WHERE {t.profile_merged_into} = ANY(%s::bigint[])",
                    [list(profile_ids)])
        merged = [row[0] for row in cur.fetchall()]
    if not merged:
        return 0
    merged = list(Membership.objects.filter(profile_id__in=merged, exited_at__isnull=True)
                  .values_list("profile_id", flat=True).distinct())
    if not merged:
        return 0
    survivor = surviving_profile_ids(merged)
    pairs = [(m, s) for m, s in survivor.items() if m != s]
    if not pairs:
        return 0
    table = Membership._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""WITH pairs(merged, survivor) AS (SELECT * FROM unnest(%(merged)s::bigint[], %(survivors)s::bigint[])),
                chosen AS (  -- the earliest open interval per (segment, survivor) moves, if it has none
                  SELECT DISTINCT ON (m.segment_id, p.survivor) m.id, p.survivor FROM {table} m
                    JOIN pairs p ON m.profile_id = p.merged
                   WHERE m.exited_at IS NULL
                     AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.segment_id = m.segment_id
                                        AND o.profile_id = p.survivor AND o.exited_at IS NULL)
                   ORDER BY m.segment_id, p.survivor, m.entered_at, m.id),
                moved AS (
                  UPDATE {table} m SET profile_id = c.survivor FROM chosen c WHERE m.id = c.id RETURNING m.id)
                SELECT count(*) FROM moved""",
            {"merged": [m for m, _ in pairs], "survivors": [s for _, s in pairs]},
        )
        (moved,) = cur.fetchone()
        closed = Membership.objects.filter(profile_id__in=[m for m, _ in pairs], exited_at__isnull=True).update(
            exited_at=timezone.now())
    return moved + closed
