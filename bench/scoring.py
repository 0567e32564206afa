"""Lead scoring benchmark (issue 16): full rescoring of every profile under a 6-condition model, with a same-run
baseline.

    createdb -h 127.0.0.1 -U postgres scoring_bench
    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/scoring_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        flock /work/wt/bench.lock .venv/bin/python bench/scoring.py [--generate] [--profiles 1000000] \\
        [--events 10000000] [--contacts 200000]

``--generate`` reuses bench/segments.py's generator (profiles with plan/country traits, contacts with one deal
each in a 5-stage pipeline, events over the last 60 days linked to their profiles, written with COPY).

The model (decay: 14-day half-life, cap 100): plan in (pro, enterprise) +20; country = DE +5; "Product Viewed"
at least 3 times in 30 days +30 (decays); "Cart Viewed" at least once +15 (decays); an open deal +25;
"Order Completed" at least once ever +10 (decays). Printed: full rescoring from empty (score_model_rescore, the
product's service: one INSERT ... ON CONFLICT per model), a second run (decay moves every score a little, so
only rows whose score changed are rewritten), a run an hour later (as the hourly beat pass does: decay moves most
scores by a cent or more, so most rows are rewritten) and the baselines measured in the same run: a plain
``count(*)`` of events grouped by profile over the same tables, and the previous implementation (one aggregate
join per event condition, numeric decay, INSERT ... ON CONFLICT of every scored row) loaded from git commit
``--baseline-commit``, from empty and seconds later, at the same clock; the two must store the same scores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import subprocess
import sys
import time
import types
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

CONDITIONS = [
    {"label": "Pro or enterprise", "points": 20,
     "condition": {"type": "trait", "key": "plan", "op": "in", "value": ["pro", "enterprise"]}},
    {"label": "In Germany", "points": 5, "condition": {"type": "trait", "key": "country", "op": "equals",
                                                        "value": "DE"}},
    {"label": "Viewed products 3× in 30 days", "points": 30, "condition": {
        "type": "event", "event": "Product Viewed", "count": {"op": "at_least", "value": 3},
        "window": {"kind": "last_days", "days": 30}}},
    {"label": "Viewed the cart", "points": 15, "condition": {"type": "event", "event": "Cart Viewed"}},
    {"label": "Open deal", "points": 25, "condition": {"type": "deal", "has": True, "where": [
        {"field": "status", "op": "equals", "value": "open"}]}},
    {"label": "Ordered", "points": 10, "condition": {"type": "event", "event": "Order Completed"}},
]

BASELINE_COMMIT = "35ce181"  # main before the speed-up: the previous scoring implementation
GROUPED_COUNT = "SELECT count(*) FROM (SELECT profile_id, count(*) FROM cdp_eventprofile GROUP BY profile_id) x"


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generate", action="store_true")
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    args = parser.parse_args()
    db = connection.settings_dict["NAME"]
    if not db.endswith("bench"):
        sys.exit(f"refusing to use database {db!r}: use a database whose name ends with 'bench'")
    call_command("migrate", verbosity=0)
    if args.generate:
        spec = importlib.util.spec_from_file_location("bench_segments", BASE_DIR / "bench" / "segments.py")
        bench_segments = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bench_segments)  # bench/segments.py's generator
        generate = bench_segments.generate

        t = time.perf_counter()
        print(f"generating {args.profiles:,} profiles, {args.events:,} events, {args.contacts:,} contacts with deals")
        generate(args.profiles, args.events, args.contacts)
        with connection.cursor() as cur:
            cur.execute("TRUNCATE segments_profilescore, segments_scoremodel CASCADE")
            cur.execute("VACUUM ANALYZE")
        print(f"generated in {time.perf_counter() - t:.0f}s", flush=True)
    from segments.models import ProfileScore, ScoreModel  # noqa: PLC0415
    from segments.services.scoring import score_model_rescore  # noqa: PLC0415

    ScoreModel.objects.all().delete()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE segments_profilescore")  # the rows of a previous run's model are gone
    model = ScoreModel.objects.create(name="Bench engagement", conditions=CONDITIONS, half_life_days=14, cap=100,
                                      is_default=True)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM cdp_profile WHERE merged_into_id IS NULL")
        profiles = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM cdp_eventprofile")
        events = cur.fetchone()[0]
    print(f"data: {profiles:,} profiles, {events:,} events; load average before: {os.getloadavg()}", flush=True)

    def grouped():
        with connection.cursor() as cur:
            cur.execute(GROUPED_COUNT)
            return cur.fetchone()[0]

    base, n = timed(grouped)
    print(f"baseline: count(*) of events grouped by profile: {base:.2f}s ({n:,} profiles with events)", flush=True)
    from django.utils import timezone  # noqa: PLC0415

    now = timezone.now()
    first, outcome = timed(lambda: score_model_rescore(model_id=model.pk, now=now))
    print(f"full rescoring from empty (6 conditions, 3 decaying): {first:.2f}s, {outcome.scored:,} profiles scored, "
          f"{outcome.written:,} rows written (target <= 10 s); {first / base:.2f}x the grouped count", flush=True)
    later = now + dt.timedelta(seconds=30)
    second, again = timed(lambda: score_model_rescore(model_id=model.pk, now=later))
    print(f"second full rescoring (30 s later): {second:.2f}s, {again.written:,} rows rewritten, "
          f"{again.deleted:,} deleted; {second / base:.2f}x the grouped count", flush=True)
    hour, hourly = timed(lambda: score_model_rescore(model_id=model.pk, now=now + dt.timedelta(hours=1)))
    print(f"full rescoring an hour later (the beat pass): {hour:.2f}s, {hourly.written:,} rows rewritten, "
          f"{hourly.deleted:,} deleted; {hour / base:.2f}x the grouped count", flush=True)
    top = ProfileScore.objects.filter(model=model).order_by("-score").values_list("score", flat=True)[:1]
    print(f"highest score: {list(top)}", flush=True)

    # The previous implementation, at the same clocks, from empty then 30 s later, into the same table.
    score_model_rescore(model_id=model.pk, now=later)
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE new_scores AS SELECT profile_id, score FROM segments_profilescore "
                    "WHERE model_id = %s", [model.pk])
        cur.execute("DELETE FROM segments_profilescore WHERE model_id = %s", [model.pk])
        cur.execute("VACUUM ANALYZE segments_profilescore")
    old = previous_implementation(args.baseline_commit)
    old_first, old_outcome = timed(lambda: old.score_model_rescore(model_id=model.pk, now=now))
    print(f"previous implementation ({args.baseline_commit}) from empty: {old_first:.2f}s, {old_outcome.written:,} "
          f"rows written; new/previous: {first / old_first:.2f}", flush=True)
    old_second, old_again = timed(lambda: old.score_model_rescore(model_id=model.pk, now=later))
    print(f"previous implementation 30 s later: {old_second:.2f}s, {old_again.written:,} rows rewritten; "
          f"new/previous: {second / old_second:.2f}", flush=True)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM new_scores n FULL JOIN segments_profilescore s ON s.profile_id = "
                    "n.profile_id AND s.model_id = %s WHERE n.profile_id IS NULL OR s.profile_id IS NULL "
                    "OR abs(n.score - s.score) > 0.011", [model.pk])
        differ = cur.fetchone()[0]
    print(f"profiles whose score differs between the two implementations: {differ:,}", flush=True)
    print(f"load average after: {os.getloadavg()}")


def previous_implementation(commit: str) -> types.ModuleType:
    """segments.services.scoring as of ``commit``, with that commit's segments.rules.scoring (both read with
    ``git show``; they use the compiler's private helpers, which still exist)."""
    def load(name: str, path: str) -> types.ModuleType:
        source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=BASE_DIR, check=True, capture_output=True,
                                text=True).stdout
        module = types.ModuleType(name)
        sys.modules[name] = module  # dataclasses look their module up
        exec(compile(source, f"{commit}:{path}", "exec"), module.__dict__)  # noqa: S102 - our own history
        return module

    rules = load("previous_rules_scoring", "segments/rules/scoring.py")
    services = load("previous_services_scoring", "segments/services/scoring.py")
    services.compile_scores = rules.compile_scores
    return services


if __name__ == "__main__":
    main()
