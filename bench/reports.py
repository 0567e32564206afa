"""Benchmark of the reports and dashboards at 200,000 deals, 1,000,000 activities and 10,000,000 events.

Generates the data straight into the database of DATABASE_URL with set-based SQL (once: a second run finds it
and goes straight to the timings), rebuilds the hourly event roll-ups, then prints the server time of every
dashboard and report page (median of --runs requests through Django's test client, no network) per role, and
of a 3-step funnel over 30 days. The baseline, measured in the same run, is one COUNT(*) over the deals.

    createdb wt_reporting_bench; DATABASE_URL=postgres://.../wt_reporting_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://.../wt_reporting_bench .venv/bin/python bench/reports.py [--runs 5]

Scale knobs (--deals, --activities, --events) exist for a quick smoke run; the targets are for the defaults.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from cdp.models import Source  # noqa: E402
from crm.models import Pipeline, Team  # noqa: E402
from crm.services.pipelines import pipeline_create  # noqa: E402
from reports.services.rollups import event_rollups_refresh  # noqa: E402
from reports.services.touches import touches_refresh  # noqa: E402

PREFIX = "bench-"
REPS, TEAMS, CONTACTS, LINKED, PERSONS = 50, 5, 50_000, 30_000, 300_000
BURST = 37  # events per session
STAGES = [
    {"name": "Lead", "probability": 10}, {"name": "Qualified", "probability": 30},
    {"name": "Proposal", "probability": 60}, {"name": "Won", "probability": 100, "is_won": True},
    {"name": "Lost", "probability": 0, "is_lost": True},
]
TRACK = ["Product Viewed", "Product Viewed", "Product Viewed", "Added to Cart", "Added to Cart",
         "Checkout Started", "Order Completed", "Signed Up", "Searched", "Logged In"]


def sql(statement: str, params=None) -> int:
    """Run a statement; without params it is sent as is (no %-placeholders: the generators use % as modulo)."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params) if params else cursor.execute(statement)
        return cursor.rowcount


def scalar(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params) if params else cursor.execute(statement)
        return cursor.fetchone()[0]


def insert_select(table: str, columns: dict[str, str], source: str) -> int:
    """INSERT INTO table SELECT ... with the given column expressions; every other NOT NULL column without a
    default gets an empty value of its type (so columns other helpers add do not break the generator)."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT column_name, data_type FROM information_schema.columns
                           WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL""", [table])
        required = cursor.fetchall()
    empty = {"text": "''", "character varying": "''", "boolean": "false", "integer": "0", "bigint": "0",
             "smallint": "0", "jsonb": "'{}'::jsonb", "numeric": "0", "timestamp with time zone": "now()",
             "date": "current_date", "ARRAY": "'{}'"}
    cols = dict(columns)
    for name, kind in required:
        if name not in cols and name != "id":
            cols[name] = empty.get(kind, "''")
    return sql(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols.values())} {source}")


def load(n_deals: int, n_activities: int, n_events: int) -> None:
    present = scalar("SELECT COUNT(*) FROM crm_deal WHERE name LIKE 'bench-deal %'")
    started = time.perf_counter()
    if present >= n_deals:
        print(f"data: {present:,} bench deals present")
    else:
        load_crm(n_deals, n_activities, started)
    load_events(n_events, started)


def load_crm(n_deals: int, n_activities: int, started: float) -> None:
    User = get_user_model()
    sales, marketing = Group.objects.get_or_create(name="Sales")[0], Group.objects.get_or_create(name="Marketing")[0]
    reps = []
    for i in range(REPS):
        user = User.objects.get_or_create(username=f"{PREFIX}rep{i}", defaults={"first_name": f"Rep {i}"})[0]
        user.groups.add(sales)
        reps.append(user.pk)
    for t in range(TEAMS):
        manager = User.objects.get_or_create(username=f"{PREFIX}manager{t}")[0]
        manager.groups.add(sales)
        team = Team.objects.get_or_create(name=f"{PREFIX}team{t}", defaults={"manager": manager})[0]
        team.members.add(*reps[t * 10:(t + 1) * 10])
    User.objects.get_or_create(username=f"{PREFIX}admin", defaults={"is_superuser": True, "is_staff": True})
    User.objects.get_or_create(username=f"{PREFIX}marketer")[0].groups.add(marketing)
    pipeline = Pipeline.objects.filter(name=f"{PREFIX}Sales").first() or pipeline_create(
        name=f"{PREFIX}Sales", is_default=not Pipeline.objects.filter(is_default=True).exists(), stages=STAGES)
    stage = {s.name: s.pk for s in pipeline.stages.all()}
    reps_sql = "ARRAY[" + ",".join(map(str, reps)) + "]::bigint[]"

    # Contacts and their profiles (the first LINKED contacts have a profile, as identity resolution links them).
    insert_select("crm_contact", {
        "first_name": "'Bench'", "last_name": "'Contact ' || g", "email": "'bench' || g || '@example.com'",
        "owner_id": f"({reps_sql})[1 + g % {REPS}]", "created_at": "now() - random() * interval '365 days'",
        "updated_at": "now()"}, f"FROM generate_series(1, {CONTACTS}) g")
    first_contact = scalar("SELECT MIN(id) FROM crm_contact WHERE email LIKE 'bench%@example.com'")
    insert_select("cdp_profile", {"crm_contact_id": f"{first_contact} + g - 1", "created_at":
                                  "now() - random() * interval '30 days'", "updated_at": "now()"},
                  f"FROM generate_series(1, {LINKED}) g ORDER BY g")
    insert_select("cdp_profile", {"created_at": "now() - random() * interval '30 days'", "updated_at": "now()"},
                  f"FROM generate_series(1, {PERSONS - LINKED}) g")
    print(f"  contacts and profiles: {time.perf_counter() - started:.0f} s")

    # Deals: half open (Lead/Qualified/Proposal), 30% won, 20% lost; 5% in USD; created over the last year.
    insert_select("crm_deal", {
        "name": "'bench-deal ' || g", "amount": "(100 + floor(random() * 9900))::numeric",
        "currency": "CASE WHEN g % 20 = 0 THEN 'USD' ELSE 'EUR' END", "pipeline_id": str(pipeline.pk),
        "stage_id": f"""CASE WHEN g % 10 < 5 THEN (ARRAY[{stage['Lead']}, {stage['Qualified']},
                        {stage['Proposal']}])[1 + g % 3] WHEN g % 10 < 8 THEN {stage['Won']}
                        ELSE {stage['Lost']} END""",
        "probability": "CASE WHEN g % 10 < 5 THEN (ARRAY[10, 30, 60])[1 + g % 3] WHEN g % 10 < 8 THEN 100 ELSE 0 END",
        "status": "CASE WHEN g % 10 < 5 THEN 'open' WHEN g % 10 < 8 THEN 'won' ELSE 'lost' END",
        "lost_reason": "CASE WHEN g % 10 >= 8 THEN 'Price' ELSE '' END",
        "owner_id": f"({reps_sql})[1 + g % {REPS}]", "created_at": "c", "updated_at": "now()",
        "closed_at": "CASE WHEN g % 10 >= 5 THEN LEAST(c + (5 + random() * 85) * interval '1 day', now()) END",
        "expected_close_date": "(c + interval '60 days')::date", "custom": "'{}'::jsonb",
    }, f"FROM (SELECT g, now() - random() * interval '365 days' AS c FROM generate_series(1, {n_deals}) g) AS x")
    sql(f"""INSERT INTO crm_deal_contacts (deal_id, contact_id)
            SELECT id, {first_contact} + (id % {CONTACTS}) FROM crm_deal WHERE pipeline_id = {pipeline.pk}""")
    # Stage history: each open stage up to the deal's (one day apart), then the won/lost move at its close.
    sql(f"""INSERT INTO crm_dealstagechange (deal_id, from_stage_id, to_stage_id, changed_at)
            SELECT d.id, NULL::bigint, s.id, d.created_at + s."order" * interval '1 day'
              FROM crm_deal d JOIN crm_stage st ON st.id = d.stage_id
              JOIN crm_stage s ON s.pipeline_id = d.pipeline_id AND NOT s.is_won AND NOT s.is_lost
               AND s."order" <= CASE WHEN d.status = 'open' THEN st."order" ELSE 2 END
             WHERE d.pipeline_id = {pipeline.pk}
            UNION ALL
            SELECT d.id, NULL, d.stage_id, d.closed_at FROM crm_deal d
             WHERE d.pipeline_id = {pipeline.pk} AND d.status <> 'open'""")
    print(f"  deals and stage history: {time.perf_counter() - started:.0f} s")
    first_deal = scalar("SELECT MIN(id) FROM crm_deal WHERE pipeline_id = %s", [pipeline.pk])
    insert_select("crm_activity", {
        "kind": "(ARRAY['call', 'email', 'meeting', 'note'])[1 + g % 4]", "subject": "'Bench activity'",
        "body": "''", "occurred_at": "now() - random() * interval '365 days'", "call_outcome": "''",
        "deal_id": f"{first_deal} + g % {n_deals}", "owner_id": f"({reps_sql})[1 + g % {REPS}]",
        "done": "false", "created_at": "now()", "updated_at": "now()",
    }, f"FROM generate_series(1, {n_activities}) g")
    print(f"  activities: {time.perf_counter() - started:.0f} s")


def load_events(n_events: int, started: float) -> None:

    # Events over the last 30 days, one daily partition each, ~PERSONS people; 30% carry a userId. People come in
    # sessions (bursts) of BURST events a second apart that walk through the track events in the order of TRACK
    # from a session-dependent start, so funnels convert; every event belongs to its person's profile, as identity
    # resolution leaves them (a data set of an earlier generator, with one event name per person and 10% of the
    # events linked, is regenerated).
    source = Source.objects.get_or_create(name=f"{PREFIX}web", defaults={"kind": Source.Kind.WEBSITE})[0]
    present = scalar(f"SELECT COUNT(*) FROM cdp_rawevent WHERE source_id = {source.pk}")
    linked = scalar("SELECT COUNT(*) FROM cdp_eventprofile")
    if present >= n_events * 0.99 and linked >= present * 0.99:
        print(f"data: {present:,} bench events present")
        return
    sql(f"""DELETE FROM cdp_eventprofile l USING cdp_rawevent e
             WHERE e.id = l.event_id AND e.received_at = l.received_at AND e.source_id = {source.pk}""")
    sql(f"DELETE FROM cdp_rawevent WHERE source_id = {source.pk}")
    first_contact = scalar("SELECT MIN(id) FROM crm_contact WHERE email LIKE 'bench%@example.com'")
    first_profile = scalar("SELECT MIN(id) FROM cdp_profile WHERE crm_contact_id = %s", [first_contact])
    today = timezone.now().astimezone(UTC).date()
    per_day = n_events // 30
    track = "ARRAY[" + ",".join(f"'{t}'" for t in TRACK) + "]"
    # Every daily partition first (and tomorrow's: the last second of a day is received in the next one), so that
    # no row lands in the default partition and blocks creating a partition later.
    for offset in range(30, -2, -1):
        day = today - timedelta(days=offset - 1)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        name = f"cdp_rawevent_p{day:%Y%m%d}"
        if not scalar("SELECT COUNT(*) FROM pg_class WHERE relname = %s", [name]):
            sql(f'CREATE TABLE "{name}" PARTITION OF cdp_rawevent FOR VALUES FROM (%s) TO (%s)',
                [start, start + timedelta(days=1)])
    for offset in range(30, 0, -1):
        day = today - timedelta(days=offset - 1)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        insert_select("cdp_rawevent", {
            "received_at": "ts + interval '2 seconds'", "source_id": str(source.pk), "batch_id": "0",
            "message_id": f"'bench-{day:%Y%m%d}-' || g", "type": "CASE WHEN g % 10 < 6 THEN 'track' "
            "WHEN g % 10 < 9 THEN 'page' ELSE 'identify' END",
            "user_id": "CASE WHEN p % 10 < 3 THEN 'u' || p END", "anonymous_id": "'a' || p",
            "event": f"CASE WHEN g % 10 < 6 THEN ({track})[1 + (b * 3 + (g % {BURST}) / 4) % {len(TRACK)}] END",
            "timestamp": "ts",
            "future_timestamp": "false",
            "payload": """jsonb_build_object('properties', jsonb_build_object('path', '/p/' || (g % 200),
                          'plan', (ARRAY['free', 'pro', 'team'])[1 + p % 3]),
                          'context', jsonb_build_object('page', jsonb_build_object('url', 'https://shop.example.com/',
                          'referrer', CASE WHEN g % 7 = 0 THEN 'https://www.google.com/' ELSE '' END),
                          'campaign', CASE WHEN g % 10 = 7 THEN jsonb_build_object('source',
                          (ARRAY['google', 'newsletter', 'linkedin'])[1 + g % 3], 'medium', 'cpc',
                          'name', 'spring') END))""",
        }, f"""FROM (SELECT g, b, ((b + {offset * 9011})::bigint * 7919) % {PERSONS} AS p,
                           '{start.isoformat()}'::timestamptz + (g % 86400) * interval '1 second' AS ts
                      FROM generate_series(1, {per_day}) g, LATERAL (SELECT g / {BURST} AS b) AS s) AS x""")
    print(f"  {per_day * 30:,} events: {time.perf_counter() - started:.0f} s")
    # Every event belongs to its person's profile (the first LINKED people are the contacts' profiles).
    sql(f"""INSERT INTO cdp_eventprofile (event_id, received_at, profile_id, timestamp, event_name)
            SELECT id, received_at, {first_profile} + substring(anonymous_id from 2)::int, timestamp,
                   COALESCE(event, '')
              FROM cdp_rawevent WHERE source_id = {source.pk}""")
    for table in ("crm_deal", "crm_dealstagechange", "crm_activity", "crm_contact", "cdp_profile",
                  "cdp_rawevent", "cdp_eventprofile", "crm_deal_contacts"):
        sql(f"VACUUM (ANALYZE) {table}")  # as autovacuum would: index-only scans need the visibility map
    print(f"data generated in {time.perf_counter() - started:.0f} s")


def median_ms(fn, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true",
                        help="data, roll-ups and touches are already built: skip their rebuild (timed otherwise)")
    args = parser.parse_args()
    load(args.deals, args.activities, args.events)
    counts = {t: scalar(f"SELECT COUNT(*) FROM {t}") for t in ("crm_deal", "crm_activity", "cdp_rawevent",
                                                                  "crm_dealstagechange", "cdp_eventprofile")}
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    if not args.reuse:
        t = time.perf_counter()
        now = timezone.now()
        event_rollups_refresh(since=now - timedelta(days=31), until=now + timedelta(hours=1))
        print(f"roll-up rebuild of 31 days: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        event_rollups_refresh()
        print("roll-up refresh (last 3 hours, what beat runs every 5 minutes): "
              f"{(time.perf_counter() - t) * 1000:.0f} ms")
        t = time.perf_counter()
        touched = touches_refresh(since=now - timedelta(days=31), until=now + timedelta(hours=1))
        sql("ANALYZE reports_touch")
        print(f"web touches rebuild of 31 days: {touched:,} touches in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        touches_refresh()
        print(f"web touches refresh (last 3 hours): {(time.perf_counter() - t) * 1000:.0f} ms")

    baseline, _ = median_ms(lambda: scalar("SELECT COUNT(*) FROM crm_deal"), args.runs)
    print(f"baseline SELECT COUNT(*) FROM crm_deal: {baseline:.0f} ms")
    # The floor under any funnel that reads the raw events: counting its steps' events of the 30 days.
    floor, _ = median_ms(lambda: scalar(
        "SELECT COUNT(*) FROM cdp_rawevent WHERE type = 'track' AND event = ANY(%s) AND timestamp >= %s",
        [["Product Viewed", "Added to Cart", "Order Completed"], timezone.now() - timedelta(days=30)]), args.runs)
    print(f"floor: counting the funnel's step events of 30 days: {floor:.0f} ms")
    User = get_user_model()
    users = {name: User.objects.get(username=f"{PREFIX}{name}") for name in ("rep0", "manager0", "admin", "marketer")}
    today = timezone.localdate()
    month30 = f"start={(today - timedelta(days=29)).isoformat()}&end={today.isoformat()}"
    funnel = (f"/reports/funnel/?{month30}&step_1=Product+Viewed&step_2=Added+to+Cart&step_3=Order+Completed"
              "&window=1&window_unit=days")
    cases = [
        ("dashboard", "rep0", "/reports/"), ("dashboard", "manager0", "/reports/"),
        ("dashboard", "marketer", "/reports/"), ("dashboard", "admin", "/reports/"),
        ("sales report (6 months)", "rep0", "/reports/sales/"),
        ("sales report (6 months)", "manager0", "/reports/sales/"),
        ("sales report (6 months)", "admin", "/reports/sales/"),
        ("marketing report (30 days)", "marketer", f"/reports/marketing/?{month30}"),
        ("attribution report (6 months)", "admin", "/reports/attribution/"),
        ("funnel 3 steps, 30 days, 1-day window", "marketer", funnel),
        ("funnel 3 steps, 30 days, by plan", "marketer", funnel + "&breakdown=plan"),
    ]
    print(f"\n{'page':42} {'user':9} {'median ms':>10} {'max ms':>8} {'x baseline':>10}")
    for label, who, url in cases:
        client = Client()
        client.force_login(users[who])
        response = client.get(url)  # warm-up (and a check that it works)
        assert response.status_code == 200, (url, response.status_code)
        med, worst = median_ms(lambda c=client, u=url: c.get(u), args.runs)
        print(f"{label:42} {who:9} {med:10.0f} {worst:8.0f} {med / max(baseline, 0.1):10.1f}")


if __name__ == "__main__":
    main()
