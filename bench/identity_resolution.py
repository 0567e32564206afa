"""Identity resolution benchmark: synthetic people with ground truth → ingest → worker pool → figures.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/h_id_bench REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/identity_resolution.py --people 200000 --workers 2

Generates about 5 events per person: anonymous browsing before login on several devices, logins (userId +
anonymousId + email/phone traits with case and format noise), email-only sign-ups on another device, tracks,
shared devices (a second person using someone's device, anonymously and logged in), junk values ("undefined",
"test@test.com", "null", ...) and a few late events. All events are ingested through events_ingest (queued
batch tasks), then a pool of real Celery worker processes is started and timed until every batch is processed.

Prints: events/s and wall time through identity resolution + traits, pairwise precision/recall of the grouping
of known identifiers (user ids, emails, phones) against the truth, the share of anonymous-only events on shared
devices attributed to the person who produced them, and scipy connected_components on the same identifier graph
as the floor. The database named in DATABASE_URL is wiped (CDP tables) and must not be a real one.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "false")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Min  # noqa: E402

from cdp.models import Identifier, IngestBatch, RawEvent, Source  # noqa: E402
from cdp.services.identity_rules import IdentityRules, identity_rules_load, message_identifiers  # noqa: E402
from cdp.services.ingest import events_ingest  # noqa: E402

T0 = datetime(2026, 10, 1, tzinfo=UTC)
JUNK_ANON = ["undefined", "null", "0", "anonymous", "[object Object]"]
JUNK_EMAIL = ["test@test.com", "none", "n/a", "null"]


def noisy_email(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    choice = rng.random()
    if choice < 0.3:
        email = email.upper()
    elif choice < 0.6:
        email = local.capitalize() + "@" + domain.capitalize()
    return (" " if rng.random() < 0.2 else "") + email + (" " if rng.random() < 0.2 else "")


def phone_of(i: int) -> tuple[str, str]:
    exchange, line = 200 + (i // 10000) % 700, i % 10000
    return f"+1415{exchange:03d}{line:04d}", f"415{exchange:03d}{line:04d}"


def noisy_phone(rng: random.Random, digits: str) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice([f"({a}) {b}-{c}", f"+1 {a} {b} {c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}", f"+1{a}{b}{c}"])


def generate(people: int, seed: int = 7):
    """Messages (time-ordered with a few late ones) and the truth: identifier → person, and for anonymous-only
    events on shared devices, messageId → person who produced it."""
    rng = random.Random(seed)
    messages: list[dict] = []
    truth: dict[tuple[str, str], int] = {}
    shared_truth: dict[str, int] = {}
    seq = 0

    def add(person_time: datetime, **m) -> dict:
        nonlocal seq
        seq += 1
        m["messageId"] = f"b{seq}"
        m["timestamp"] = person_time.isoformat()
        messages.append(m)
        return m

    devices_of: dict[int, list[str]] = {}
    for i in range(people):
        t = T0 + timedelta(seconds=rng.randrange(0, 25 * 86400))
        uid = f"user-{i}"
        email = f"person{i}@example.com"
        e164, digits = phone_of(i)
        truth[("user_id", uid)] = i
        truth[("email", email)] = i
        has_phone = rng.random() < 0.5
        if has_phone:
            truth[("phone", e164)] = i
        n_dev = rng.choice([1, 1, 2, 2, 3])
        devices = [f"anon-{i}-{k}-{rng.getrandbits(32):08x}" for k in range(n_dev)]
        devices_of[i] = devices
        junk_anon = rng.random() < 0.03
        # Device 1: browse anonymously, then log in with traits.
        for _ in range(rng.choice([0, 1, 1, 2])):
            t += timedelta(minutes=rng.randrange(1, 30))
            add(t, type="page", name="Home", anonymousId=devices[0], properties={"path": "/"})
        t += timedelta(minutes=rng.randrange(1, 30))
        traits = {"email": noisy_email(rng, email), "name": f"Person {i}", "plan": rng.choice(["free", "pro"])}
        if has_phone:
            traits["phone"] = noisy_phone(rng, digits)
        add(t, type="identify", userId=uid, anonymousId=devices[0] if not junk_anon else rng.choice(JUNK_ANON),
            traits=traits)
        if junk_anon:  # the device id was junk: later anonymous events of this device cannot be linked
            truth.pop(("anonymous_id", devices[0]), None)
        # Other devices: anonymous browsing then a login or an email-only sign-up.
        for dev in devices[1:]:
            t += timedelta(hours=rng.randrange(1, 48))
            add(t, type="page", name="Pricing", anonymousId=dev, properties={"path": "/pricing"})
            t += timedelta(minutes=rng.randrange(1, 30))
            if rng.random() < 0.5:
                add(t, type="track", event="Logged In", userId=uid, anonymousId=dev)
            else:
                add(t, type="identify", anonymousId=dev, traits={"email": noisy_email(rng, email)})
        t += timedelta(minutes=rng.randrange(1, 60))
        add(t, type="track", event="Order Completed", userId=uid, properties={"total": rng.randrange(5, 500)})
        if rng.random() < 0.03:  # junk email in a form
            add(t + timedelta(minutes=1), type="identify", userId=uid, traits={"email": rng.choice(JUNK_EMAIL)})

    # Shared devices: 2% of people use a device of someone else (after them), anonymously then logged in.
    for j in rng.sample(range(people), k=max(1, people // 50)):
        i = rng.randrange(people)
        if i == j:
            continue
        dev = devices_of[i][0]
        # Every person's own activity ends before day 30; shared use happens after it.
        t = T0 + timedelta(days=31, seconds=rng.randrange(0, 5 * 86400))
        m = add(t, type="identify", userId=f"user-{j}", anonymousId=dev)
        for _ in range(2):
            t += timedelta(minutes=rng.randrange(1, 20))
            m = add(t, type="page", name="Shared", anonymousId=dev)
            shared_truth[m["messageId"]] = j
        # The device's owner comes back and logs in again; the device is theirs again afterwards.
        t += timedelta(hours=rng.randrange(1, 24))
        add(t, type="track", event="Logged In", userId=f"user-{i}", anonymousId=dev)
        t += timedelta(minutes=5)
        m = add(t, type="page", name="Shared", anonymousId=dev)
        shared_truth[m["messageId"]] = i

    messages.sort(key=lambda m: m["timestamp"])
    # A few late events (replayed from an offline device): moved later in the stream than their time.
    for _ in range(len(messages) // 200):
        a = rng.randrange(len(messages))
        b = min(len(messages) - 1, a + rng.randrange(1, 5000))
        messages.insert(b, messages.pop(a))
    return messages, truth, shared_truth


def pairwise(clusters_found: dict[tuple, int], truth: dict[tuple, int]) -> tuple[float, float]:
    """Pairwise precision/recall of the found grouping over the known identifiers (user_id, email, phone)."""
    known = {k: v for k, v in truth.items() if k[0] in ("user_id", "email", "phone")}
    by_found: dict[int, list[int]] = defaultdict(list)
    singleton = -1
    for ident, person in known.items():
        pid = clusters_found.get(ident)
        if pid is None:
            pid, singleton = singleton, singleton - 1
        by_found[pid].append(person)
    tp = found_pairs = 0
    for persons in by_found.values():
        n = len(persons)
        found_pairs += n * (n - 1) // 2
        tp += sum(c * (c - 1) // 2 for c in Counter(persons).values())
    truth_pairs = sum(c * (c - 1) // 2 for c in Counter(known.values()).values())
    return (tp / found_pairs if found_pairs else 1.0), (tp / truth_pairs if truth_pairs else 1.0)


def scipy_floor(messages: list[dict], rules: IdentityRules) -> tuple[float, int]:
    """connected_components over identifiers linked by co-occurrence in a message (same extraction)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    index: dict[tuple, int] = {}
    rows, cols = [], []
    for m in messages:
        ids = message_identifiers(m, rules=rules, source_kind="server")
        nodes = [index.setdefault(i, len(index)) for i in ids]
        for n in nodes[1:]:
            rows.append(nodes[0])
            cols.append(n)
    n = len(index)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n)).tocsr()
    start = time.perf_counter()
    count, _ = connected_components(graph, directed=False)
    return time.perf_counter() - start, count


def api_latency(found: dict[tuple, int], samples: int = 1000) -> None:
    """p50/p95 of GET /v1/profiles/{type}:{value}/traits and /events over random identifiers (in-process client,
    full middleware stack, one request at a time)."""
    from django.test import Client

    from cdp.services.read_tokens import read_token_create

    _, raw = read_token_create(name="bench", scopes=["traits", "events"], requests_per_minute=10**9)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    rng = random.Random(3)
    keys = rng.sample(sorted(found), k=min(samples, len(found)))
    for endpoint in ("traits", "events"):
        times = []
        for type_, value in keys:
            t = time.perf_counter()
            response = client.get(f"/v1/profiles/{type_}:{quote(value, safe='@')}/{endpoint}", secure=True)
            times.append(time.perf_counter() - t)
            assert response.status_code == 200, response.content
        times.sort()
        print(f"GET /v1/profiles/…/{endpoint}: p50 {times[len(times) // 2] * 1000:.1f} ms, "
              f"p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms over {len(times)} identifiers (target p95 < 20 ms)")


def cpu_times() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of the whole machine so far, from /proc/stat (Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    hz = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / hz, steal / hz


def reset_processing() -> None:
    """Forget the previous run's identity results and queue every batch again."""
    from cdp.tasks import batch_process

    with connection.cursor() as cur:
        cur.execute("TRUNCATE cdp_identifier, cdp_profilemerge, cdp_refusedmerge, cdp_identifiersplit, cdp_profile, "
                    "cdp_account, cdp_readtoken, cdp_eventprofile CASCADE")
        cur.execute("UPDATE cdp_ingestbatch SET processed_at = NULL, attempts = 0")
        cur.execute("VACUUM ANALYZE cdp_rawevent, cdp_ingestbatch")
    for batch_id in IngestBatch.objects.order_by("id").values_list("id", flat=True):
        batch_process.delay(batch_id)


def wipe() -> None:
    with connection.cursor() as cur:
        cur.execute("TRUNCATE cdp_identifier, cdp_profilemerge, cdp_refusedmerge, cdp_identifiersplit, cdp_rawevent, "
                    "cdp_messagededupe, cdp_ingestbatch, cdp_profile, cdp_account, cdp_eventprofile CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork concurrency)")
    parser.add_argument("--batch", type=int, default=1000, help="events per ingested batch")
    parser.add_argument("--analyze-every", type=float, default=15.0,
                        help="seconds between ANALYZE runs while processing (0: never; for servers without autovacuum)")
    parser.add_argument("--reprocess", action="store_true",
                        help="keep the events ingested by a previous run (same --people), redo only the processing")
    args = parser.parse_args()

    db = connection.settings_dict["NAME"]
    if not db.endswith("bench"):
        sys.exit(f"refusing to wipe database {db!r}: use a database whose name ends with 'bench'")
    call_command("migrate", verbosity=0)
    if not args.reprocess:
        wipe()
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("ingest")
    rules = identity_rules_load()

    t = time.perf_counter()
    messages, truth, shared_truth = generate(args.people)
    print(f"generated {len(messages):,} events for {args.people:,} people in {time.perf_counter() - t:.1f}s")

    source, _ = Source.objects.get_or_create(name="bench", defaults={"kind": "server"})
    if args.reprocess:
        reset_processing()
    else:
        t = time.perf_counter()
        for start in range(0, len(messages), args.batch):
            events_ingest(source=source, messages=messages[start:start + args.batch])
        ingest_s = time.perf_counter() - t
        print(f"ingested {len(messages):,} events in {ingest_s:.1f}s ({len(messages) / ingest_s:,.0f}/s)")
    with connection.cursor() as cur:
        cur.execute("ANALYZE cdp_rawevent")  # fresh statistics (the server may run without autovacuum)
    n_events = RawEvent.objects.count()
    n_batches = IngestBatch.objects.count()
    print(f"{n_events:,} events in {n_batches:,} batches queued for processing")

    # The million generated messages stay in memory for the checks: keep this process's garbage collector from
    # rescanning them while the workers run (it would take CPU from them on this 2-core machine).
    gc.collect()
    gc.freeze()
    env = dict(os.environ)
    (BASE_DIR / "var").mkdir(exist_ok=True)
    log = open(BASE_DIR / "var" / "bench-identity-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "ingest", "-c", str(args.workers),
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--hostname", "bench@%h"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    log_path = BASE_DIR / "var" / "bench-identity-worker.log"
    started = time.perf_counter()
    while " ready." not in log_path.read_text() and worker.poll() is None:
        time.sleep(0.05)
    t = time.perf_counter()
    cpu_start = cpu_times()
    print(f"worker pool ready after {t - started:.1f}s (start-up not counted)")
    try:
        analyzed = time.perf_counter()
        while IngestBatch.objects.filter(processed_at__isnull=True).exists():
            if worker.poll() is not None:
                sys.exit("worker died; see var/bench-identity-worker.log")
            if args.analyze_every and time.perf_counter() - analyzed > args.analyze_every:
                # What autovacuum does on a normal server: keep planner statistics of the growing tables fresh.
                with connection.cursor() as cur:
                    cur.execute("ANALYZE cdp_identifier, cdp_profile, cdp_profilemerge, cdp_eventprofile")
                analyzed = time.perf_counter()
            time.sleep(0.05)
        # Measured when the last batch is done, before the pool's warm shutdown (seconds of its own).
        wall = time.perf_counter() - t
        cpu_busy, cpu_stolen = (end - start for end, start in zip(cpu_times(), cpu_start, strict=True))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    span = IngestBatch.objects.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    busy = (span["last"] - span["first"]).total_seconds() if n_batches > 1 else wall
    print(f"identity resolution + traits: {n_events:,} events, wall {wall:.1f}s, "
          f"first→last batch {busy:.1f}s → {n_events / wall:,.0f} events/s "
          f"({n_events / busy if busy else 0:,.0f}/s between first and last batch); targets ≥ 20,000/s, ≤ 50 s")
    print(f"machine CPU while processing: {cpu_busy:.1f} core-seconds busy of {wall * (os.cpu_count() or 1):.1f} "
          f"({cpu_busy / n_events * 1e6:.0f} us per event, all processes), {cpu_stolen:.1f} s stolen")

    found = {(t_, v): pid for t_, v, pid in Identifier.objects.values_list("type", "value", "profile_id").iterator()}
    precision, recall = pairwise(found, truth)
    known = sum(1 for k in truth if k[0] != "anonymous_id")
    print(f"pairwise precision {precision:.6f}, recall {recall:.6f} over {known:,} known identifiers (target 1.0)")
    profiles_of_users = {v: pid for (t_, v), pid in found.items() if t_ == "user_id"}
    got = dict(RawEvent.objects.filter(message_id__in=list(shared_truth))
               .values_list("message_id", "profile_links__profile_id"))
    right = sum(1 for mid, person in shared_truth.items() if got.get(mid) == profiles_of_users.get(f"user-{person}"))
    print(f"anonymous-only events on shared devices attributed to the person who produced them: "
          f"{right:,}/{len(shared_truth):,} ({right / max(1, len(shared_truth)):.1%})")
    api_latency(found)
    floor, comps = scipy_floor(messages, rules)
    print(f"scipy connected_components on the same identifier graph: {floor * 1000:.0f} ms ({comps:,} components) "
          f"— the floor; ratio identity wall / floor = {wall / floor if floor else 0:,.0f}x")


if __name__ == "__main__":
    main()
