"""Benchmark of the deal board, deal list, forecast and deals API at 20,000 deals.

Loads (once) 20k deals over 2 pipelines, 10 reps in 2 teams and 2,000 companies into the database of
DATABASE_URL, then prints the server time (median of several runs through Django's test client, no network)
and the query count of each page, for an admin and for a rep. The baseline is one indexed COUNT(*) of deals
measured in the same run.

    DATABASE_URL=postgresql://... .venv/bin/python bench/crm_board.py [--deals 20000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
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

from crm.demo.deals import PIPELINES  # noqa: E402
from crm.models import Company, Deal, Pipeline, Team  # noqa: E402
from crm.selectors.deals import board_columns  # noqa: E402
from crm.services.pipelines import pipeline_create  # noqa: E402

PREFIX = "bench-"


def load(n_deals: int) -> None:
    User = get_user_model()
    sales = Group.objects.get_or_create(name="Sales")[0]
    reps = []
    for i in range(10):
        user, _ = User.objects.get_or_create(username=f"{PREFIX}rep{i}", defaults={"first_name": f"Rep {i}"})
        user.groups.add(sales)
        reps.append(user)
    for t in range(2):
        team, _ = Team.objects.get_or_create(name=f"{PREFIX}team{t}")
        team.members.add(*reps[t * 5:(t + 1) * 5])
    User.objects.get_or_create(username=f"{PREFIX}admin", defaults={"is_superuser": True, "is_staff": True})
    pipelines = []
    for order, (name, stages) in enumerate(PIPELINES.items()):
        pipeline = Pipeline.objects.filter(name=f"{PREFIX}{name}").first()
        pipelines.append(pipeline or pipeline_create(name=f"{PREFIX}{name}", order=10 + order, stages=stages))
    existing = Deal.objects.filter(pipeline__in=pipelines).count()
    if existing >= n_deals:
        print(f"data: {existing} bench deals present")
        return
    if not Company.objects.filter(name__startswith=PREFIX).exists():
        Company.objects.bulk_create([Company(name=f"{PREFIX}company {i}", domain=f"{PREFIX}c{i}.example",
                                             owner=reps[i % 10]) for i in range(2000)], batch_size=1000)
    companies = list(Company.objects.filter(name__startswith=PREFIX).values_list("id", flat=True))
    rng = random.Random(7)
    today = timezone.localdate()
    stages = {p.pk: list(p.stages.order_by("order")) for p in pipelines}
    started = time.perf_counter()
    batch = []
    for i in range(existing, n_deals):
        pipeline = pipelines[0] if i % 4 else pipelines[1]
        stage = rng.choice(stages[pipeline.pk])
        batch.append(Deal(
            name=f"{PREFIX}deal {i}", amount=Decimal(rng.randrange(10, 1000) * 100), currency="EUR",
            pipeline=pipeline, stage=stage, probability=stage.probability, status=stage.status,
            lost_reason="Lost in benchmark" if stage.is_lost else "", owner=reps[i % 10],
            company_id=rng.choice(companies), expected_close_date=today + timedelta(days=rng.randrange(-30, 240)),
            closed_at=timezone.now() if stage.is_won or stage.is_lost else None,
        ))
        if len(batch) == 2000:
            Deal.objects.bulk_create(batch)
            batch = []
    if batch:
        Deal.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE crm_deal")
    print(f"data: loaded {n_deals - existing} deals in {time.perf_counter() - started:.1f}s")


def measure(label: str, fn, runs: int) -> tuple[float, int]:
    fn()  # warm up (connection, template and URL caches)
    timings = []
    queries = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            result = fn()
            timings.append((time.perf_counter() - started) * 1000)
        queries = len(ctx.captured_queries)
        status = getattr(result, "status_code", 200)
        if status != 200:
            raise SystemExit(f"{label}: HTTP {status}")
    return statistics.median(timings), queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load(args.deals)
    User = get_user_model()
    pipeline = Pipeline.objects.get(name=f"{PREFIX}Sales")
    users = {"admin": User.objects.get(username=f"{PREFIX}admin"), "rep": User.objects.get(username=f"{PREFIX}rep3")}
    baseline, _ = measure("baseline", lambda: Deal.objects.filter(pipeline=pipeline).count(), args.runs)
    print(f"deals in the benchmark pipelines: {Deal.objects.filter(name__startswith=PREFIX).count()}")
    print(f"baseline COUNT(*) of one pipeline's deals: {baseline:.1f} ms")
    print(f"{'case':48} {'median ms':>10} {'queries':>8} {'x baseline':>11}")
    for who, user in users.items():
        client = Client()
        client.force_login(user)
        cases = {
            "board selector (columns+totals+cards)": lambda u=user: board_columns(user=u, pipeline=pipeline),
            "GET /crm/board/": lambda c=client: c.get(f"/crm/board/?pipeline={pipeline.pk}"),
            "GET /crm/board/ owner+close filter": lambda c=client, u=user: c.get(
                f"/crm/board/?pipeline={pipeline.pk}&owner={u.pk}&close_from={timezone.localdate()}"),
            "GET /crm/deals/ (page 1, sort -amount)": lambda c=client: c.get("/crm/deals/?sort=-amount"),
            "GET /crm/deals/ (page 100)": lambda c=client: c.get("/crm/deals/?page=100"),
            "GET /crm/deals/ search 'deal 1234'": lambda c=client: c.get("/crm/deals/?q=deal+1234"),
            "GET /crm/forecast/": lambda c=client: c.get("/crm/forecast/?months=6"),
            "GET /api/crm/deals/": lambda c=client: c.get("/api/crm/deals/"),
        }
        for label, fn in cases.items():
            ms, queries = measure(label, fn, args.runs)
            print(f"{who + ': ' + label:48} {ms:10.1f} {queries:8d} {ms / baseline:11.1f}")


if __name__ == "__main__":
    main()
