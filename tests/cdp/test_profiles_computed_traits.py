"""Computed traits: kept up to date per batch, merged with profiles, and fully recomputable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cdp.models import ComputedTrait, Profile
from cdp.tasks import computed_trait_recompute_task
from tests.cdp.identity_support import ingest, msg, profile_of, source

pytestmark = pytest.mark.django_db


def _defs():
    mk = ComputedTrait.objects.create
    return [
        mk(key="orders", name="Orders", aggregate="count", event_type="track", event_name="Order Completed"),
        mk(key="eu_orders", name="EU orders", aggregate="count", event_name="Order Completed",
           filters={"region": "eu"}),
        mk(key="revenue", name="Revenue", aggregate="sum", event_name="Order Completed", property="total"),
        mk(key="avg_order", name="Average", aggregate="avg", event_name="Order Completed", property="total"),
        mk(key="min_order", name="Min", aggregate="min", event_name="Order Completed", property="total"),
        mk(key="max_order", name="Max", aggregate="max", event_name="Order Completed", property="total"),
        mk(key="first_order", name="First", aggregate="first_time", event_name="Order Completed"),
        mk(key="last_seen", name="Last seen", aggregate="last_time"),
        mk(key="fav_cat", name="Favourite", aggregate="most_frequent", event_type="page", property="category"),
        mk(key="cats", name="Categories", aggregate="unique_list", event_type="page", property="category"),
        mk(key="n_cats", name="N categories", aggregate="unique_count", event_type="page", property="category"),
    ]


def _order(minute, total, region="eu", **ids):
    return msg("track", minute=minute, event="Order Completed", properties={"total": total, "region": region}, **ids)


def _page(minute, category, **ids):
    return msg("page", minute=minute, name="Product", properties={"category": category}, **ids)


def test_values_across_batches_and_a_merge_match_a_full_recompute():
    defs = _defs()
    src = source()
    ingest(src, [_order(1, 10, anonymousId="d1"), _order(2, "30.5", region="us", anonymousId="d1"),
                 _page(3, "shoes", anonymousId="d1"), _page(4, "hats", anonymousId="d1")])
    ingest(src, [_order(5, 5, userId="u1"), _page(6, "shoes", userId="u1"), _order(7, "n/a", userId="u1")])
    ingest(src, [msg("identify", minute=8, userId="u1", anonymousId="d1")])  # merges the two profiles
    p = profile_of("user_id", "u1")
    expected = {
        "orders": 4, "eu_orders": 3, "revenue": 45.5, "avg_order": round(45.5 / 3, 6), "min_order": 5.0,
        "max_order": 30.5, "fav_cat": "shoes", "cats": ["hats", "shoes"], "n_cats": 2,
    }
    assert {k: p.computed[k] for k in expected} == expected
    assert p.computed["first_order"].startswith("2026-11-01T12:01:00")
    assert p.computed["last_seen"].startswith("2026-11-01T12:08:00")
    incremental = p.computed
    for d in defs:
        computed_trait_recompute_task.delay(d.pk)
    assert Profile.objects.get(pk=p.pk).computed == incremental


def test_window_counts_only_recent_events_and_new_definitions_backfill():
    src = source()
    now = timezone.now()
    old = msg("track", event="Login", userId="w", timestamp=(now - timedelta(days=40)).isoformat())
    recent = msg("track", event="Login", userId="w", timestamp=(now - timedelta(days=2)).isoformat())
    ingest(src, [old, recent])
    trait = ComputedTrait.objects.create(key="logins_30d", name="Logins 30d", aggregate="count",
                                         event_name="Login", window_days=30)
    assert "logins_30d" not in profile_of("user_id", "w").computed
    computed_trait_recompute_task.delay(trait.pk)
    assert profile_of("user_id", "w").computed["logins_30d"] == 1
    ingest(src, [msg("track", event="Login", userId="w", timestamp=(now - timedelta(hours=1)).isoformat())])
    assert profile_of("user_id", "w").computed["logins_30d"] == 2
