"""End to end with `make run`'s own web server and worker: events posted over HTTP until all are resolved.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x_pipeline_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/pipeline_http.py [--people 40000] [--clients 4]

Generates the identity benchmark's synthetic people (bench/identity_resolution.py: about 8 events per person,
anonymous browsing, logins with noisy emails/phones, shared devices), plus two computed traits, then starts the
web server and the Celery worker exactly as `make run` does (config.launcher's commands and environment defaults)
and posts the events in batches of 100 from keep-alive clients to /v1/batch. It times from the first request
until every batch is processed and prints events/s end to end, the CPU per event of each process group (web,
worker, Postgres backends, clients) and the machine's load.

Then, in this process and on the same events, it measures each stage alone (CPU of this process and wall time,
which includes the Postgres backend's work for that stage): the ingest request (a /v1/batch request through
Django's WSGI handler), the batch hand-off (claiming and loading batches, marking them processed), identity
(identifiers, graph, profile/identifier/event-link writes), traits, computed traits.

The database named in DATABASE_URL is wiped (CDP tables) and must end with "bench". Target: >= 15,000 events/s
end to end on this 2-core machine.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import multiprocessing as mp
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from functools import wraps
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))
# The environment `make run` gives its children (config.launcher.main).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import orjson  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from identity_resolution import generate, wipe  # noqa: E402  (sets Django up)
from ingest_http import _cpu_seconds, _pids, cpu_used, wait_for_server  # noqa: E402

from cdp.models import ComputedTrait, IngestBatch, RawEvent, Source  # noqa: E402

BATCH = 100
TARGET = 15_000


def client_loop(args) -> tuple[int, int, float]:
    """Post this client's share of the bodies over one keep-alive connection; (accepted, errors, CPU s)."""
    port, key, bodies = args
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": auth}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    accepted = errors = 0
    cpu = time.process_time()
    for body in bodies:
        for _attempt in range(5):
            try:
                conn.request("POST", "/v1/batch", body, headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                continue
            if response.status == 200:
                accepted += orjson.loads(data)["accepted"]
                break
            errors += 1
            time.sleep(0.2)
    conn.close()
    return accepted, errors, time.process_time() - cpu


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of ``root`` and its descendants."""
    parents: dict[int, int] = {}
    for pid in _pids(lambda e: True):
        try:
            parents[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    family = {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in family and pid not in family:
                family.add(pid)
                changed = True
    return {pid: _cpu_seconds(pid) for pid in family}


def snapshot(web: int, worker: int, db_name: str) -> dict[str, dict[int, float]]:
    db = _pids(lambda e: (e / "cmdline").read_bytes().startswith(b"postgres:")
               and f" {db_name} ".encode() in (e / "cmdline").read_bytes())
    return {"web": tree_cpu(web), "worker": tree_cpu(worker), "db": {p: _cpu_seconds(p) for p in db}}


def computed_traits_define() -> None:
    ComputedTrait.objects.get_or_create(key="pages_30d", defaults={
        "name": "Pages viewed, 30 days", "aggregate": "count", "event_type": "page", "window_days": 30})
    ComputedTrait.objects.get_or_create(key="last_seen", defaults={
        "name": "Last seen", "aggregate": "last_time"})


def end_to_end(args, messages: list[dict], source: Source) -> float:
    from config.launcher import _children_commands

    bodies = [orjson.dumps({"batch": messages[i:i + BATCH]}) for i in range(0, len(messages), BATCH)]
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    commands = _children_commands(str(port))
    (BASE_DIR / "var").mkdir(exist_ok=True)
    log = open(BASE_DIR / "var" / "bench-pipeline.log", "w")  # noqa: SIM115
    connection.close()
    web = subprocess.Popen(commands["web"], cwd=BASE_DIR, env=os.environ.copy(), stdout=subprocess.DEVNULL,
                           stderr=log)
    worker = subprocess.Popen(commands["worker"], cwd=BASE_DIR, env=os.environ.copy(), stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        wait_for_server(port, source.write_key, timeout=120)
        deadline = time.time() + 120
        while " ready." not in (BASE_DIR / "var" / "bench-pipeline.log").read_text():
            if worker.poll() is not None or time.time() > deadline:
                sys.exit("worker did not come up; see var/bench-pipeline.log")
            time.sleep(0.1)
        db_name = settings.DATABASES["default"]["NAME"]
        shares = [bodies[i::args.clients] for i in range(args.clients)]
        load_before = os.getloadavg()[0]
        before = snapshot(web.pid, worker.pid, db_name)
        started = time.perf_counter()
        with mp.get_context("fork").Pool(args.clients) as pool:
            results = pool.map(client_loop, [(port, source.write_key, share) for share in shares])
        posted = time.perf_counter() - started
        while IngestBatch.objects.filter(processed_at__isnull=True).exists():
            if worker.poll() is not None:
                sys.exit("worker died; see var/bench-pipeline.log")
            time.sleep(0.05)
        wall = time.perf_counter() - started
        after = snapshot(web.pid, worker.pid, db_name)
        load_after = os.getloadavg()[0]
    finally:
        for proc in (web, worker):
            proc.terminate()
        for proc in (web, worker):
            proc.wait(timeout=60)
        log.close()
    accepted = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    n = RawEvent.objects.filter(source=source).count()
    assert n == accepted == len(messages), (n, accepted, len(messages))
    print(f"end to end: {n:,} events over HTTP ({len(bodies):,} requests of {BATCH}, {args.clients} clients, "
          f"{errors} retried) posted in {posted:.1f} s, all resolved after {wall:.1f} s "
          f"=> {n / wall:,.0f} events/s end to end (target >= {TARGET:,})")
    per = {kind: cpu_used(before, after, kind) / n * 1e6 for kind in ("web", "worker", "db")}
    per["clients"] = sum(r[2] for r in results) / n * 1e6
    total = sum(per.values())
    print(f"CPU per event: web {per['web']:.0f} us, worker {per['worker']:.0f} us, Postgres backends "
          f"{per['db']:.0f} us, clients {per['clients']:.0f} us; total {total:.0f} us "
          f"(=> {2e6 / total:,.0f} events/s if 2 cores were ours alone); load average {load_before:.1f} -> "
          f"{load_after:.1f}")
    return wall


class StageClock:
    """CPU (this process) and wall seconds spent in wrapped functions, by stage (the outermost call counts)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self._depth = 0

    def wrap(self, module, name: str, stage: str) -> None:
        original = getattr(module, name)

        @wraps(original)
        def timed(*args, **kwargs):
            if self._depth:
                return original(*args, **kwargs)
            self._depth += 1
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[stage] += time.process_time() - cpu
                self.wall[stage] += time.perf_counter() - wall
                self._depth -= 1

        setattr(module, name, timed)


def stages(messages: list[dict], source: Source) -> None:
    """Each stage alone, in this process, on the same events (ingested again into a fresh source)."""
    from django.core.handlers.wsgi import WSGIHandler

    from cdp.services import computed_traits as ct
    from cdp.services import identity, identity_batches, processing
    from config import queueing

    wipe()
    computed_traits_define()
    from cdp.services.sources import source_create

    source = source_create(name=f"stages-{uuid.uuid4().hex[:6]}", kind="server")
    key = source.write_key
    app = WSGIHandler()
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    queueing.enqueue_coalesced_on_commit = lambda *a, **k: None  # this process processes the batches itself
    processing.enqueue_coalesced_on_commit = queueing.enqueue_coalesced_on_commit
    clock = StageClock()
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, len(messages), BATCH):
        body = orjson.dumps({"batch": messages[i:i + BATCH]})
        env = {"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/batch", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
               "HTTP_AUTHORIZATION": auth, "wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1"}
        status = []
        b"".join(app(env, lambda s, h, status=status: status.append(s)))
        assert status[0].startswith("200"), status
    clock.cpu["ingest request"], clock.wall["ingest request"] = time.process_time() - cpu, time.perf_counter() - wall

    # Stages of processing: each phase function of identity resolution, by what it does.
    for name in ("_messages_read", "_graph_resolve", "_profiles_allocate", "_merged_fold", "_accounts_link",
                 "_merges_write", "_identifiers_write", "_crm_links", "_event_links_write", "_audit_write",
                 "acquire_all", "acquire_free"):
        clock.wrap(identity, name, "identity")
    clock.wrap(identity, "_events_apply", "traits")  # traits and group links (computed state: see below)
    clock.wrap(identity, "_profiles_write", "traits")
    clock.wrap(identity, "_computed_values", "computed traits")
    clock.wrap(ct, "state_add", "computed traits")
    clock.wrap(ct, "state_prune", "computed traits")
    for name in ("_claim", "_events_of", "_finish", "batch_waiting_next"):
        clock.wrap(identity_batches, name, "batch hand-off")
    # Nested wrappers: state_add inside _events_apply is counted in traits; measure it on its own too.
    inner = StageClock()
    inner.wrap(ct, "state_add", "computed traits")
    first = IngestBatch.objects.filter(source=source).order_by("id").values_list("id", flat=True).first()
    cpu, wall = time.process_time(), time.perf_counter()
    processing.batches_process_waiting(batch_id=first, seconds=3600)
    total_cpu, total_wall = time.process_time() - cpu, time.perf_counter() - wall
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    clock.cpu["traits"] -= inner.cpu["computed traits"]
    clock.wall["traits"] -= inner.wall["computed traits"]
    clock.cpu["computed traits"] += inner.cpu["computed traits"]
    clock.wall["computed traits"] += inner.wall["computed traits"]
    clock.cpu["batch hand-off"] += total_cpu - sum(v for k, v in clock.cpu.items() if k != "ingest request")
    clock.wall["batch hand-off"] += total_wall - sum(v for k, v in clock.wall.items() if k != "ingest request")
    n = len(messages)
    print(f"\nstages alone, in one process ({n:,} events; CPU = this process, wall includes the Postgres backend):")
    print(f"  {'stage':<18} {'CPU us/event':>13} {'wall us/event':>14}")
    for stage in ("ingest request", "batch hand-off", "identity", "traits", "computed traits"):
        print(f"  {stage:<18} {clock.cpu[stage] / n * 1e6:>13.1f} {clock.wall[stage] / n * 1e6:>14.1f}")
    print(f"  {'total':<18} {sum(clock.cpu.values()) / n * 1e6:>13.1f} {sum(clock.wall.values()) / n * 1e6:>14.1f}")


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=68_000, help="about 4.7 events each (68,000: ~320,000)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--skip-stages", action="store_true")
    args = parser.parse_args()
    db = connection.settings_dict["NAME"]
    if not db.endswith("bench"):
        sys.exit(f"refusing to wipe database {db!r}: use a database whose name ends with 'bench'")
    call_command("migrate", verbosity=0)
    wipe()
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("ingest")
    computed_traits_define()
    messages, _, _ = generate(args.people)
    for m in messages:  # fresh ids: the dedupe window would refuse a previous run's
        m["messageId"] = f"{m['messageId']}-{uuid.uuid4().hex[:6]}"
    print(f"{len(messages):,} events for {args.people:,} people; web and worker as `make run` starts them "
          f"(DEBUG={os.environ['DEBUG']}, WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '2')}, "
          f"WORKER_CONCURRENCY={os.environ.get('WORKER_CONCURRENCY', '2')})")
    from cdp.services.sources import source_create

    source = source_create(name=f"pipeline-{uuid.uuid4().hex[:6]}", kind="server")
    end_to_end(args, messages, source)
    if not args.skip_stages:
        stages(messages, source)


if __name__ == "__main__":
    main()
