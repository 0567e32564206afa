"""Benchmark of the support desk at 1,000,000 tickets and 5,000,000 conversation entries.

Generates (once) the data straight into the database of DATABASE_URL with INSERT … SELECT over generate_series:
4 teams with a queue each, 40 agents, 100,000 contacts, 1M tickets over two years (about 3% still open, some
overdue), 5 conversation entries per ticket. Then prints, through Django's test client (no network; the server
time), the median and the query count of:

- the five queue pages for an agent and for an admin, and the ticket page (two different tickets: the query
  count must be the same);
- the metrics page for a 90-day range (admin: every ticket; agent: one team);
- the SLA breach sweep (with a fresh set of tickets to mark on each run).

The baseline is GET /healthz (a page that asks the database and Redis) measured in the same run.

    DATABASE_URL=postgres://.../wt_support_bench .venv/bin/python bench/support.py [--tickets 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
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
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.models import SlaPolicy, Team, Ticket, TicketQueue  # noqa: E402
from crm.services.tickets_sweep import tickets_sla_sweep  # noqa: E402

PREFIX = "bench-"
N_CONTACTS = 100_000
ENTRIES_PER_TICKET = 5


def _sql(statement: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def load(n_tickets: int) -> None:
    User = get_user_model()
    support = Group.objects.get_or_create(name="Support")[0]
    teams, agents = [], []
    for t in range(4):
        team = Team.objects.get_or_create(name=f"{PREFIX}team{t}")[0]
        teams.append(team)
        for a in range(10):
            user = User.objects.get_or_create(username=f"{PREFIX}agent{t}-{a}",
                                              defaults={"first_name": f"Agent {t}-{a}"})[0]
            user.groups.add(support)
            team.members.add(user)
            agents.append(user)
        TicketQueue.objects.get_or_create(name=f"{PREFIX}queue{t}",
                                          defaults={"team": team, "inbound_token": f"{PREFIX}{t}"})
    User.objects.get_or_create(username=f"{PREFIX}admin", defaults={"is_superuser": True, "is_staff": True})
    for priority, (first, resolution) in {"low": (480, 2400), "normal": (240, 1440), "high": (60, 480),
                                          "urgent": (30, 240)}.items():
        SlaPolicy.objects.get_or_create(priority=priority, queue=None, defaults={
            "name": priority, "first_response_minutes": first, "resolution_minutes": resolution})
    existing = Ticket.objects.count()
    if existing >= n_tickets:
        print(f"data: {existing:,} tickets present")
        settle()
        return
    started = time.perf_counter()
    if not connection.cursor().execute("SELECT 1 FROM crm_contact WHERE email LIKE 'bench-%%' LIMIT 1").fetchone():
        _sql("""
            INSERT INTO crm_contact (first_name, last_name, title, lifecycle_stage, lead_source, tags, custom, email,
                                     phone, created_at, updated_at)
            SELECT 'First' || i, 'Last' || i, '', 'customer', '', '{}', '{}', 'bench-' || i || '@cust.example', '',
                   now(), now()
            FROM generate_series(1, %s) i""", [N_CONTACTS])
        _sql("""INSERT INTO crm_contactemail (contact_id, email, is_primary)
                SELECT id, email, true FROM crm_contact WHERE email LIKE 'bench-%%'""")
    print(f"contacts: {N_CONTACTS:,} in {time.perf_counter() - started:.1f} s")
    queues = list(TicketQueue.objects.filter(name__startswith=PREFIX).order_by("name").values_list("id", "team_id"))
    agent_ids = [a.pk for a in agents]
    policy = dict(SlaPolicy.objects.filter(queue__isnull=True).values_list("priority", "id"))
    started = time.perf_counter()
    # Ticket i: created (i / n) of the way through the last two years; the newest 3% are still open, some of those
    # overdue (half already marked), the others solved or closed with a rating on every fifth.
    _sql("""
        WITH c AS (SELECT min(id) AS lo FROM crm_contact WHERE email LIKE 'bench-%%'),
        g AS (
            SELECT i, now() - make_interval(secs => (%(n)s - i)::float8 / %(n)s * 730 * 86400) AS created,
                   i > %(n)s * 0.97 AS is_open,
                   (ARRAY['low','normal','normal','normal','high','urgent'])[1 + i %% 6] AS prio,
                   %(queues)s::bigint[] AS queues, %(teams)s::bigint[] AS teams, %(agents)s::bigint[] AS agents
            FROM generate_series(%(start)s, %(n)s) i)
        INSERT INTO crm_ticket (subject, description, status, priority, channel, requester_id, queue_id, team_id,
            assignee_id, tags, custom, sla_policy_id, first_response_due_at, resolution_due_at, first_response_at,
            resolution_breached_at, solved_at, closed_at, csat_rating, csat_comment, message_id, created_at,
            updated_at)
        SELECT 'Ticket ' || i, 'Something is broken (' || i || ')',
               CASE WHEN is_open THEN (ARRAY['new','open','open','pending','on_hold'])[1 + i %% 5]
                    WHEN i %% 3 = 0 THEN 'solved' ELSE 'closed' END,
               prio, (ARRAY['email','web','phone','api'])[1 + i %% 4], (SELECT lo FROM c) + i %% %(contacts)s,
               queues[1 + i %% 4], teams[1 + i %% 4],
               CASE WHEN i %% 5 = 0 THEN NULL ELSE agents[1 + (i %% 4) * 10 + (i / 4) %% 10] END,
               '{}', '{}', (%(policy)s::jsonb ->> prio)::bigint, created + interval '4 hours',
               CASE WHEN is_open AND (1 + i %% 5) IN (4, 5) THEN NULL
                    ELSE created + make_interval(hours => 4 + i %% 68) END,
               CASE WHEN i %% 5 = 0 AND is_open THEN NULL ELSE created + make_interval(mins => 5 + i %% 300) END,
               CASE WHEN is_open AND created + make_interval(hours => 4 + i %% 68) < now() AND i %% 2 = 0
                    THEN created + make_interval(hours => 4 + i %% 68) END,
               CASE WHEN is_open THEN NULL ELSE created + make_interval(hours => 1 + i %% 90) END,
               CASE WHEN is_open OR i %% 3 = 0 THEN NULL ELSE created + make_interval(hours => 49 + i %% 90) END,
               CASE WHEN NOT is_open AND i %% 5 = 1 THEN 1 + i %% 5 END, '', '', created, created
        FROM g""", {"n": n_tickets, "start": existing + 1, "queues": [q for q, _t in queues],
                    "teams": [t for _q, t in queues], "agents": agent_ids, "contacts": N_CONTACTS,
                    "policy": __import__("json").dumps(policy)})
    _sql("UPDATE crm_ticket SET sla_paused_at = created_at + interval '1 hour', resolution_remaining_seconds = 3600 "
         "WHERE status IN ('pending', 'on_hold') AND sla_paused_at IS NULL")
    print(f"tickets: {n_tickets - existing:,} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    _sql("""
        INSERT INTO crm_ticketentry (ticket_id, kind, author_id, author_contact_id, incoming, body, body_html,
                                     message_id, created_at)
        SELECT t.id, CASE WHEN k = 3 THEN 'note' ELSE 'public' END,
               CASE WHEN k %% 2 = 0 OR k = 3 THEN t.assignee_id END,
               CASE WHEN k %% 2 = 1 AND k <> 3 THEN t.requester_id END, k %% 2 = 1 AND k <> 3,
               'Message ' || k || ' of ticket ' || t.number, '', '', t.created_at + make_interval(hours => k - 1)
        FROM crm_ticket t CROSS JOIN generate_series(1, %s) k
        WHERE t.id > (SELECT coalesce(max(ticket_id), 0) FROM crm_ticketentry)""", [ENTRIES_PER_TICKET])
    print(f"entries: {(n_tickets - existing) * ENTRIES_PER_TICKET:,} in {time.perf_counter() - started:.1f} s")
    settle()


def settle() -> None:
    """VACUUM ANALYZE the bulk-loaded tables, as autovacuum does on a live database: without a visibility map the
    queue counts could not be answered from their covering index alone (index-only scans need it)."""
    for table in ("crm_ticket", "crm_ticketentry", "crm_contact", "crm_supportnotification"):
        _sql(f"VACUUM ANALYZE {table}")


def timed(client: Client, url: str, runs: int) -> tuple[float, int, float]:
    """(median wall ms, queries, median CPU ms of this process) — the CPU figure shows how much of the wall time
    is the page's own Python work rather than waiting for a core on a shared machine or for Postgres."""
    client.get(url)  # warm caches
    times, cpu, queries = [], [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return statistics.median(times), queries, statistics.median(cpu)


def sweep_fodder(now) -> list[int]:
    """Open running tickets whose resolution is overdue but unmarked — the sweep's work; reset before each run."""
    ids = list(Ticket.objects.filter(status__in=["new", "open"], resolution_due_at__lt=now)
               .order_by("id").values_list("id", flat=True)[:5000:2])
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load(args.tickets)
    User = get_user_model()
    admin = User.objects.get(username=f"{PREFIX}admin")
    agent = User.objects.get(username=f"{PREFIX}agent1-3")
    print(f"\n{Ticket.objects.count():,} tickets, "
          f"{connection.cursor().execute('SELECT count(*) FROM crm_ticketentry').fetchone()[0]:,} entries, "
          f"{Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES).count():,} open")
    base_client = Client()
    base_client.force_login(admin)
    baseline, _q, _cpu = timed(base_client, "/healthz", args.runs)
    print(f"baseline GET /healthz: {baseline:.1f} ms\n")
    print(f"{'page':<44}{'user':<8}{'median ms':>10}{'queries':>9}{'× base':>8}{'CPU ms':>8}")
    for who, user in (("agent", agent), ("admin", admin)):
        client = Client()
        client.force_login(user)
        for name in ("mine", "unassigned", "team", "breaching", "overdue"):
            url = f"/support/queues/{name}/"
            ms, queries, cpu = timed(client, url, args.runs)
            print(f"{url:<44}{who:<8}{ms:>10.1f}{queries:>9}{ms / baseline:>8.1f}{cpu:>8.1f}")
        visible = Ticket.objects.filter(team__members=agent) if who == "agent" else Ticket.objects.all()
        for pk in (visible.filter(status="open").order_by("-id").values_list("id", flat=True).first(),
                   visible.filter(status="closed").order_by("id").values_list("id", flat=True).first()):
            url = f"/support/tickets/{pk}/"
            ms, queries, cpu = timed(client, url, args.runs)
            print(f"{url:<44}{who:<8}{ms:>10.1f}{queries:>9}{ms / baseline:>8.1f}{cpu:>8.1f}")
        today = timezone.localdate()
        url = f"/support/metrics/?start={today - timedelta(days=89)}&end={today}"
        ms, queries, cpu = timed(client, url, max(3, args.runs // 2))
        print(f"{'/support/metrics/ (90 days)':<44}{who:<8}{ms:>10.1f}{queries:>9}{ms / baseline:>8.1f}{cpu:>8.1f}")
    now = timezone.now()
    times, marked = [], 0
    for _ in range(3):
        ids = sweep_fodder(now)
        Ticket.objects.filter(pk__in=ids).update(resolution_breached_at=None, sla_warned_at=None)
        _sql("DELETE FROM crm_supportnotification")
        started = time.perf_counter()
        counts = tickets_sla_sweep(now=now)
        times.append((time.perf_counter() - started) * 1000)
        marked = counts
    print(f"\nSLA breach sweep: median {statistics.median(times):.0f} ms over 3 runs; last run marked {marked}")


if __name__ == "__main__":
    main()
