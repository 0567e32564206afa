"""Benchmark of the bulk backfill command (not run by the tests).

Writes a CSV of N track events, runs ``manage.py backfill_events`` on it against DATABASE_URL (or the embedded
Postgres; migrate it first) and prints rows/s and the peak memory (which must not grow with N), then runs it
again to show that a re-run stores nothing (every row a duplicate).

    DEBUG=true .venv/bin/python bench/backfill_events.py [--rows 200000] [--chunk-size 1000]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_csv(path: Path, rows: int) -> None:
    with open(path, "w") as f:
        f.write("user_id,email,event,timestamp,sku,price,plan\n")
        for n in range(1, rows + 1):
            f.write(f"user-{n % 50000},user{n % 50000}@example.com,Product Viewed,2026-01-01T10:{n % 60:02d}:00Z,"
                    f"SKU-{n % 997},{(n % 500) / 10:.2f},{'pro' if n % 3 else 'free'}\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(path: Path, source_name: str, chunk_size: int) -> tuple[float, str]:
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command("backfill_events", str(path), "--source", source_name, "--kind", "events",
                 "--chunk-size", str(chunk_size), "--progress-every", "10000000", stdout=out, stderr=io.StringIO())
    return time.perf_counter() - started, out.getvalue().strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk-size", type=int, default=1000)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from cdp.models import Source
    from cdp.services.sources import source_create

    source = source_create(name=f"bench-backfill-{uuid.uuid4().hex[:8]}", kind=Source.Kind.IMPORT)
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp) / "small.csv", Path(tmp) / "big.csv"
        write_csv(small, max(args.rows // 20, 1000))
        write_csv(big, args.rows)
        run(small, source.name, args.chunk_size)  # warm-up (imports, connections, plans)
        rss_small = peak_rss_mb()
        seconds, summary = run(big, source.name, args.chunk_size)
        rss_big = peak_rss_mb()
        print(f"backfill {args.rows} rows in {seconds:.1f}s: {args.rows / seconds:,.0f} rows/s")
        print(f"  {summary}")
        print(f"  peak RSS after {max(args.rows // 20, 1000)} rows: {rss_small:.0f} MB; after {args.rows} rows: "
              f"{rss_big:.0f} MB (constant memory: streaming)")
        seconds, summary = run(big, source.name, args.chunk_size)
        print(f"re-run (all duplicates) in {seconds:.1f}s: {args.rows / seconds:,.0f} rows/s")
        print(f"  {summary}")


if __name__ == "__main__":
    main()
