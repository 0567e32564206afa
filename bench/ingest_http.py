"""Benchmark of the collection API as `make run` serves it (not run by the tests).

Starts the web server exactly as `make run` does (config.launcher's command and environment defaults: gunicorn,
WEB_CONCURRENCY workers, DEBUG on, no extra settings) against DATABASE_URL (or the embedded Postgres), posts
pre-built batches of 100 realistic Segment events from concurrent keep-alive clients (separate processes) to
/v1/batch, and reports the accepted events/s. In the same run, from one client, it COPYs the same events

- into a plain table with one unique index (source, messageId): the limit of Postgres here, and
- into copies of the product's own tables (the partitioned, indexed raw event table and the dedupe table),

and prints both ratios.

    .venv/bin/python bench/ingest_http.py [--seconds 20] [--clients 4]
    .venv/bin/python bench/ingest_http.py --workers 2 --threads 6   # a gthread server instead of make run's

Targets (2-core machine, make run defaults): >= 25,000 events/s and >= 0.2x the plain COPY rate.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH_SIZE = 100
PLACEHOLDER = b"@@BATCH@@"
TARGET_RATE = 25_000
TARGET_RATIO = 0.2


def realistic_batch(seed: int) -> list[dict]:
    """100 events shaped like analytics.js / analytics-python traffic: mostly track and page, some identify."""
    events = []
    for i in range(BATCH_SIZE):
        user = f"user-{(seed * 7919 + i) % 5000}"
        anon = str(uuid.UUID(int=(seed << 64) + i))
        context = {
            "library": {"name": "analytics.js", "version": "next-1.64.0"},
            "ip": f"10.{i % 250}.{seed % 250}.7",
            "locale": "en-US",
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
            "page": {"path": f"/products/{i}", "url": f"https://shop.example.com/products/{i}",
                     "referrer": "https://www.google.com/", "title": "Runner 3000 - Shop"},
            "campaign": {"source": "newsletter", "medium": "email", "name": "winter-sale"},
        }
        base = {"messageId": f"{PLACEHOLDER.decode()}-{i}", "anonymousId": anon, "context": context,
                "timestamp": "2026-11-29T06:59:58.123Z", "integrations": {"All": True}}
        kind = i % 10
        if kind < 6:
            events.append(base | {"type": "track", "userId": user, "event": "Product Viewed", "properties": {
                "product_id": f"sku-{i}", "name": "Runner 3000", "price": 89.9, "currency": "EUR",
                "category": "Shoes", "position": i}})
        elif kind < 9:
            events.append(base | {"type": "page", "name": "Product", "properties": {
                "path": f"/products/{i}", "title": "Runner 3000 - Shop"}})
        else:
            events.append(base | {"type": "identify", "userId": user, "traits": {
                "email": f"{user}@example.com", "first_name": "Ada", "plan": "pro", "logins": i}})
    return events


def client_loop(args) -> tuple[int, int, int, int, float]:
    """One client process: keep-alive connection, post the template with a fresh batch id each time.
    Returns (accepted in total, accepted in the measured window, requests, errors, CPU seconds in the window)."""
    index, port, key, start_at, measure_at, stop_at, template = args
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    total = measured = requests = errors = 0
    cpu_start = None
    n = 0
    while time.time() < start_at:
        time.sleep(0.005)
    while (now := time.time()) < stop_at:
        if cpu_start is None and now >= measure_at:
            cpu_start = time.process_time()
        n += 1
        body = template.replace(PLACEHOLDER, f"c{index}-{n}-{uuid.uuid4().hex[:8]}".encode())
        try:
            conn.request("POST", "/v1/batch", body, headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        if response.status == 200:
            accepted = int(data.split(b'"accepted":', 1)[1].split(b",", 1)[0])
            total += accepted
            if now >= measure_at:
                requests += 1
                measured += accepted
        else:
            errors += 1
    conn.close()
    return total, measured, requests, errors, time.process_time() - (cpu_start or time.process_time())


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pids(match) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if match(entry):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_snapshot(server_pid: int, db_name: str) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the gunicorn processes and of the Postgres backends serving our database."""
    web = _pids(lambda e: e.name == str(server_pid) or
                (e / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(server_pid))
    db = _pids(lambda e: (e / "cmdline").read_bytes().startswith(b"postgres:")
               and f" {db_name} ".encode() in (e / "cmdline").read_bytes())
    return {"web": {p: _cpu_seconds(p) for p in web}, "db": {p: _cpu_seconds(p) for p in db}}


def cpu_used(before: dict, after: dict, kind: str) -> float:
    return sum(cpu - before[kind].get(pid, 0.0) for pid, cpu in after[kind].items())


def wait_for_server(port: int, key: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
            conn.request("POST", "/v1/batch", b'{"batch": []}', {"Content-Type": "application/json",
                                                               "Authorization": auth})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


_COLUMNS = ("received_at, source_id, batch_id, message_id, type, user_id, anonymous_id, event, "
            '"timestamp", original_timestamp, sent_at, future_timestamp, payload')


def _copy(raw, table: str, rows: list[tuple], columns: str, *, chunk: int = 10_000) -> float:
    """Seconds to COPY ``rows`` into ``table`` (committed every ``chunk`` rows)."""
    started = time.perf_counter()
    for offset in range(0, len(rows), chunk):
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows[offset:offset + chunk]:
                copy.write_row(row)
        raw.commit()
    return time.perf_counter() - started


def copy_rates(rows: list[tuple]) -> tuple[float, float]:
    """Rows/s of COPY (one client) into (a) a plain table with one unique index on (source, messageId) and (b)
    copies of the product's own tables: cdp_rawevent (same columns, partitioning, indexes) and
    cdp_messagededupe (its primary key and BRIN index), both written for every event as ingestion does."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_plain, bench_copy_rawevent, bench_copy_dedupe")
        cur.execute(
            "CREATE TABLE bench_plain (id bigserial, received_at timestamptz, source_id bigint, batch_id bigint, "
            "message_id text, type text, user_id text, anonymous_id text, event text, \"timestamp\" timestamptz, "
            "original_timestamp timestamptz, sent_at timestamptz, future_timestamp boolean, payload jsonb)")
        cur.execute("CREATE UNIQUE INDEX bench_plain_message ON bench_plain (source_id, message_id)")
        cur.execute("CREATE TABLE bench_copy_rawevent (LIKE cdp_rawevent INCLUDING DEFAULTS INCLUDING INDEXES) "
                    "PARTITION BY RANGE (received_at)")
        cur.execute("CREATE TABLE bench_copy_rawevent_default PARTITION OF bench_copy_rawevent DEFAULT")
        cur.execute("CREATE TABLE bench_copy_dedupe (LIKE cdp_messagededupe INCLUDING DEFAULTS INCLUDING INDEXES)")
    raw.commit()
    try:
        plain = _copy(raw, "bench_plain", rows, _COLUMNS)
        own = _copy(raw, "bench_copy_rawevent", rows, _COLUMNS)
        own += _copy(raw, "bench_copy_dedupe", [(r[1], r[3], r[0]) for r in rows], "source_id, message_id, received_at")
        with raw.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM bench_plain), (SELECT count(*) FROM bench_copy_rawevent)")
            assert cur.fetchone() == (len(rows), len(rows))
    finally:
        raw.rollback()
        with raw.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_plain, bench_copy_rawevent, bench_copy_dedupe")
        raw.commit()
    return len(rows) / plain, len(rows) / own


def copy_rows(templates: list[list[dict]], count: int, source_id: int) -> list[tuple]:
    """The same events as RawEvent rows (validated exactly as the API does), with unique messageIds."""
    import orjson
    from django.utils import timezone

    from cdp.services.validation import messages_validate

    rows = []
    n = 0
    while len(rows) < count:
        for template in templates:
            n += 1
            messages = orjson.loads(orjson.dumps(template).replace(PLACEHOLDER, f"copy-{n}".encode()))
            received_at = timezone.now()
            valid, _ = messages_validate(messages, received_at=received_at)
            rows.extend((received_at, source_id, n, e.message_id, e.type, e.user_id, e.anonymous_id, e.event,
                         e.timestamp, e.original_timestamp, e.sent_at, e.future_timestamp, e.payload.decode())
                        for e in valid)
    return rows[:count]


def server_command(args, port: int) -> tuple[list[str], str]:
    """The web server command: `make run`'s own (config.launcher), unless --workers/--threads ask otherwise."""
    from config.launcher import _children_commands

    if args.workers is None and args.threads is None:
        command = _children_commands(str(port))["web"]
        workers = os.environ.get("WEB_CONCURRENCY", "2")
        return command, f"make run's web server (gunicorn, {workers} sync workers, access log on)"
    workers, threads = args.workers or 2, args.threads or 6
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
               "--keep-alive", "75", "--backlog", "2048", "--log-level", "warning"]
    return command, f"gunicorn {workers} workers x {threads} threads (gthread)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, help="serve with gunicorn gthread instead of make run's server")
    parser.add_argument("--threads", type=int, help="threads per gthread worker (implies gthread)")
    parser.add_argument("--copy-rows", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark events in the database")
    args = parser.parse_args()

    # The environment `make run` gives its children (config.launcher.main); nothing else is set.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    import django

    django.setup()  # starts the embedded Postgres/Redis when DATABASE_URL/REDIS_URL are unset (children inherit)
    import orjson
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from cdp.models import RawEvent
    from cdp.services.sources import source_create

    call_command("migrate", verbosity=0)
    source = source_create(name=f"bench-{uuid.uuid4().hex[:8]}", kind="server")
    templates = [realistic_batch(seed) for seed in range(args.clients)]
    bodies = [orjson.dumps({"batch": t, "sentAt": "2026-11-29T07:00:00.000Z"}) for t in templates]
    print(f"batch of {BATCH_SIZE} events: {len(bodies[0]):,} bytes ({len(bodies[0]) // BATCH_SIZE} bytes/event)")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    connection.close()
    command, server_label = server_command(args, port)
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    try:
        wait_for_server(port, source.write_key)
        db_name = settings.DATABASES["default"]["NAME"]
        start_at = time.time() + 1.0
        measure_at = start_at + args.warmup  # every worker has served requests (imports, URLconf) by then
        stop_at = measure_at + args.seconds
        jobs = [(i, port, source.write_key, start_at, measure_at, stop_at, bodies[i % len(bodies)])
                for i in range(args.clients)]
        with mp.get_context("fork").Pool(args.clients) as pool:
            pending = pool.map_async(client_loop, jobs)
            time.sleep(max(0.0, measure_at - time.time()))
            before = cpu_snapshot(server.pid, db_name)
            load_before = os.getloadavg()[0]
            results = pending.get()
        after = cpu_snapshot(server.pid, db_name)
        total_accepted = sum(r[0] for r in results)
        accepted = sum(r[1] for r in results)
        requests = sum(r[2] for r in results)
        errors = sum(r[3] for r in results)
        client_cpu = sum(r[4] for r in results)
    finally:
        server.terminate()
        server.wait(timeout=30)

    stored = RawEvent.objects.filter(source=source).count()
    http_rate = accepted / args.seconds
    print(f"server: {server_label}; DEBUG={os.environ['DEBUG']}; {args.clients} keep-alive clients; "
          f"{args.seconds:.0f} s")
    print(f"HTTP:  {requests:,} requests, {accepted:,} events accepted in the measured {args.seconds:.0f} s "
          f"(after {args.warmup:.0f} s warm-up), {errors} errors; {total_accepted:,} accepted in all, "
          f"{stored:,} stored")
    print(f"HTTP:  {http_rate:,.0f} accepted events/s  (target >= {TARGET_RATE:,})")
    assert stored == total_accepted, "every accepted event must be stored exactly once"
    per_event = {kind: cpu_used(before, after, kind) / max(accepted, 1) * 1e6 for kind in ("web", "db")}
    per_event["clients"] = client_cpu / max(accepted, 1) * 1e6
    total = sum(per_event.values())
    print(f"CPU per accepted event: gunicorn {per_event['web']:.0f} us, postgres backends {per_event['db']:.0f} us, "
          f"load clients {per_event['clients']:.0f} us (total {total:.0f} us)")
    print(f"       => 2 cores fully available to this run would sustain about {2e6 / total:,.0f} events/s "
          f"(load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}: other work on the machine competes)")

    rows = copy_rows(templates, args.copy_rows, source.pk)
    plain, own = copy_rates(rows)
    print(f"COPY:  {plain:,.0f} rows/s into a plain table with one unique index (one client, {len(rows):,} rows)")
    print(f"COPY:  {own:,.0f} rows/s into copies of the product's own tables (raw events + dedupe)")
    print(f"ratio: {http_rate / plain:.2f}x plain COPY (target >= {TARGET_RATIO}x); "
          f"{http_rate / own:.2f}x COPY into the product's tables")

    # Leave nothing behind: the queued processing tasks and (unless --keep) the benchmark's rows.
    redis.Redis.from_url(settings.REDIS_URL).delete("ingest")
    if not args.keep:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM cdp_rawevent WHERE source_id = %s", [source.pk])
            cur.execute("DELETE FROM cdp_messagededupe WHERE source_id = %s", [source.pk])
            cur.execute("DELETE FROM cdp_ingestbatch WHERE source_id = %s", [source.pk])
        source.delete()


if __name__ == "__main__":
    main()
