"""Activation benchmark (issue 16): throughput of webhook deliveries with `make run`'s worker.

    createdb -h 127.0.0.1 -U postgres actdeliv_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/actdeliv_bench REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/activation.py [--profiles 20000]

What it does, in one run:

- writes ``--profiles`` new profiles (an email identifier and a ``bench_run`` trait each) and a real-time segment
  whose rule matches exactly them, with one webhook destination (traits plan, email) pointing at a local receiver
  (bench/webhook_receiver.py) running in its own process; 127.0.0.1 is allowed through
  SEGMENTS_WEBHOOK_ALLOWED_HOSTS, the only setting changed. The receiver answers 200 to everything (retries off in
  effect) and checks every signature with the hmac module;
- starts the Celery worker exactly as `make run` starts it (config.launcher's command, its concurrency default);
- runs the segment's full refresh (the product's segment_refresh) in this process: the profiles enter, the
  deliveries are recorded in the refresh's transaction and the sending is queued after commit, as for any entry;
- times from that commit until every delivery is ``delivered`` (polled every 100 ms): deliveries/s;
- baseline in the same run: the same number of signed POSTs of the same bodies to the same receiver by a bare
  urllib3 client (one keep-alive pool, SEGMENTS_WEBHOOK_CONCURRENCY threads), no database: the HTTP ceiling here.

Target: >= 500 deliveries/s on this 2-core machine. The database named in DATABASE_URL must end with "bench".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")  # make run's default
os.environ["SEGMENTS_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"

import django  # noqa: E402

django.setup()

import urllib3  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

TARGET = 500


def start_receiver(secret: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, str(BASE_DIR / "bench" / "webhook_receiver.py"), "--secret", secret],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening "):
        sys.exit(f"the receiver did not start: {line!r}")
    return proc, int(line.split()[1])


def stop_receiver(proc: subprocess.Popen) -> dict:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return json.loads(out.strip().splitlines()[-1])


def make_world(n: int, run: str):
    from cdp.models import Identifier, Profile
    from segments.models import Segment
    from segments.rules import validate_rule
    from segments.services.definitions import rule_facts

    profiles = Profile.objects.bulk_create(
        [Profile(traits={"bench_run": run, "plan": "pro", "email": f"a{i}-{run}@example.com"}) for i in range(n)],
        batch_size=5000)
    Identifier.objects.bulk_create(
        [Identifier(profile=p, type="email", value=p.traits["email"]) for p in profiles], batch_size=5000)
    rule = {"type": "all", "conditions": [{"type": "trait", "key": "bench_run", "op": "equals", "value": run}]}
    # Created without its first refresh queued: the benchmark runs that refresh itself, at a known moment.
    return Segment.objects.create(name=f"Activation bench {run}", definition=rule, mode="realtime",
                                  **rule_facts(validate_rule(rule)))


def start_worker() -> subprocess.Popen:
    from config.launcher import _children_commands

    log_path = BASE_DIR / "var" / "bench-activation-worker.log"
    log = open(log_path, "w")  # noqa: SIM115 - the worker writes to it until the end
    worker = subprocess.Popen(_children_commands("0")["worker"], cwd=BASE_DIR, env=os.environ.copy(), stdout=log,
                              stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while " ready." not in log_path.read_text():
        if worker.poll() is not None or time.time() > deadline:
            sys.exit("the worker did not come up; see var/bench-activation-worker.log")
        time.sleep(0.1)
    return worker


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def deliveries(segment_id: int, timeout: float) -> tuple[float, float, int]:
    """Run the refresh (entries recorded, sending queued after commit); returns (refresh seconds, seconds from
    commit to the last delivery, how many delivered)."""
    from segments.models import Delivery
    from segments.services.refresh import segment_refresh

    t0 = time.perf_counter()
    outcome = segment_refresh(segment_id=segment_id)
    committed = time.perf_counter()
    n = len(outcome.entered)
    done = 0
    while time.perf_counter() - committed < timeout:
        done = Delivery.objects.filter(destination__segment_id=segment_id, status="delivered").count()
        if done >= n:
            break
        time.sleep(0.1)
    return committed - t0, time.perf_counter() - committed, done


def baseline(port: int, bodies: list[bytes], secret: str) -> float:
    """The same signed POSTs from a bare urllib3 client: no database, no Celery."""
    from segments.services.webhook_http import signature_header

    pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=settings.SEGMENTS_WEBHOOK_CONCURRENCY,
                                      retries=False)

    def post(body: bytes) -> int:
        ts = int(time.time())
        return pool.urlopen("POST", "/hook", body=body, headers={
            "Content-Type": "application/json", "X-Webhook-Timestamp": str(ts), "X-Webhook-Id": "baseline",
            "X-Webhook-Signature": signature_header([secret], ts, body)}).status

    t = time.perf_counter()
    with ThreadPoolExecutor(settings.SEGMENTS_WEBHOOK_CONCURRENCY) as ex:
        statuses = list(ex.map(post, bodies))
    elapsed = time.perf_counter() - t
    assert statuses.count(200) == len(bodies), "the receiver refused some baseline POSTs"
    return len(bodies) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    db = connection.settings_dict["NAME"]
    if not db.endswith("bench"):
        sys.exit(f"refusing to use database {db!r}: use a database whose name ends with 'bench'")
    call_command("migrate", verbosity=0)
    from segments.models import Delivery
    from segments.services.destinations import destination_create, destination_update

    run = timezone.now().strftime("%Y%m%d%H%M%S")
    segment = make_world(args.profiles, run)
    dest = destination_create(segment=segment, kind="webhook", url="http://127.0.0.1:9/hook", traits=["plan", "email"])
    receiver, port = start_receiver(dest.secret)
    destination_update(destination=dest, url=f"http://127.0.0.1:{port}/hook")
    connection.close()
    worker = start_worker()
    print(f"{args.profiles:,} profiles entering one segment with a webhook; worker: make run's "
          f"(--concurrency {os.environ.get('WORKER_CONCURRENCY', '2')}), DEBUG={settings.DEBUG}; "
          f"batch {settings.SEGMENTS_WEBHOOK_BATCH}, concurrency {settings.SEGMENTS_WEBHOOK_CONCURRENCY}")
    print(f"load average before: {os.getloadavg()}", flush=True)
    try:
        refresh_s, send_s, done = deliveries(segment.pk, args.timeout)
    finally:
        stop(worker)
    counts = Delivery.objects.filter(destination=dest).values_list("status").order_by()
    by_status: dict[str, int] = {}
    for (status,) in counts:
        by_status[status] = by_status.get(status, 0) + 1
    rate = done / send_s if send_s else 0.0
    bodies = list(Delivery.objects.filter(destination=dest).exclude(body="").values_list("body", flat=True))
    bodies = [b.encode() for b in bodies] or [b"{}"] * args.profiles
    base_rate = baseline(port, bodies, dest.secret)
    seen = stop_receiver(receiver)
    print(f"refresh (entries + {done:,} deliveries recorded): {refresh_s:.2f}s")
    print(f"worker: {done:,} delivered in {send_s:.2f}s from commit = {rate:,.0f} deliveries/s "
          f"(target >= {TARGET}: {'met' if rate >= TARGET else 'NOT met'}); statuses {by_status}")
    print(f"baseline, bare urllib3 client ({settings.SEGMENTS_WEBHOOK_CONCURRENCY} threads, no DB): "
          f"{base_rate:,.0f} POSTs/s; worker/baseline = {rate / base_rate:.2f}")
    print(f"receiver: {seen['requests']:,} requests ({seen['requests'] - len(bodies):,} from the worker), "
          f"{seen['distinct_ids'] - 1:,} distinct delivery ids from the worker, {seen['bad_signature']} bad signatures")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
