"""Benchmark of the contact list, search and filters at 100,000 contacts, and of a 100,000-row CSV import.

Creates a fresh database ``<name of DATABASE_URL's database>_contacts_bench`` on the same server (dropped
first if it exists, unless ``--reuse`` finds it already holding the data; DATABASE_URL itself is never written
to), migrates it and loads, set-based with COPY,
10,000 companies and 100,000 contacts with emails, phones, tags and owners (20 reps in 4 teams, an admin).
Then it prints, for an admin, a rep and a team manager, the server time (median and max of several runs
through Django's test client: the whole request in-process, no network), the part of it spent in the
database and the number of queries of the contact list page, searches (name, email fragment, phone fragment,
company name), filtered lists and the contacts API, plus the duplicates review page. Finally it times a
100,000-row contact CSV import (half updates, half new contacts): the upload and start requests (which
return at once) and the job itself, run in-process as the worker would run it. The baseline is one
``SELECT count(*)`` over all contacts, measured in the same run ("x base": a page's time in baselines).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/x .venv/bin/python bench/crm_contacts.py [--runs 7]
        [--contacts 100000] [--companies 10000] [--import-rows 100000] [--skip-import] [--keep] [--reuse]
        [--load-only]

``--keep --skip-import`` leaves the loaded database behind unchanged (for EXPLAIN with psql); a later run with
``--reuse`` migrates it and measures again without loading. ``--load-only --keep`` loads and stops: generate
outside the bench lock (under ``nice``), then measure under it with ``--reuse``.

Without DATABASE_URL the embedded Postgres under var/ is used (a database of its server, not ``crmcdp``).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIRST = ("Anna Ben Clara David Emma Felix Greta Hannah Ida Jonas Karl Lena Marie Noah Olga Paul Quinn Rosa Sven "
         "Tina Uwe Vera Wolfgang Xenia Yusuf Zoe Ahmed Bianca Carlos Dmitri Elif Fatima Georg Hiro Ingrid Jamal "
         "Kemal Lucia Mateo Nadia Oskar Priya Rafael Sofia Tomasz Ulrike Viktor Wei Yara Zeynep").split()
LAST = ("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf "
        "Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Krause Meier "
        "Lehmann Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn "
        "Vogel Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster "
        "Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich "
        "Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann Thomas Voigt "
        "Sauer Arnold Wolff Pfeiffer Garcia Nguyen Kowalski Rossi Silva Yilmaz Johnson Smith Brown Tanaka").split()
WORDS = ("Nord Süd Alpha Blau Grün Stern Kraft Licht Fluss Berg Wald Stadt Hafen Brücke Turm Quelle Feld Sonne "
         "Mond Falke Adler Löwe Wolf Bär Eiche Linde Ahorn Kiefer Pixel Daten Netz Cloud Logik Vektor Matrix").split()
SUFFIX = ["GmbH", "AG", "KG", "SE", "Ltd", "Inc", "BV", "SAS"]
INDUSTRIES = ["Software", "Retail", "Manufacturing", "Finance", "Health", "Logistics", "Energy", "Media"]
TAGS = ["vip", "newsletter", "trade-fair", "partner", "churn-risk", "upsell", "webinar", "inbound", "outbound",
        "enterprise", "smb", "priority"]
STAGES = ["lead", "marketing_qualified", "sales_qualified", "opportunity", "customer", "churned"]
SOURCES = ["Website", "Referral", "Trade fair", "Cold call", "Partner", "Webinar"]


def _ascii(name: str) -> str:
    return name.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


def _database_urls() -> tuple[str, str, str]:
    """(admin URL of the server, URL of the fresh bench database, its name)."""
    from config import embedded

    base = embedded.database_url()
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "postgres"
    bench = f"{name[:48]}_contacts_bench"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    bench_url = urlunsplit(parts._replace(path=f"/{bench}"))
    return admin_url, bench_url, bench


def _loaded_contacts(url: str) -> int:
    """Contacts in an existing bench database; 0 when it does not exist or holds no contacts table yet."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM crm_contact").fetchone()[0]
    except psycopg.Error:
        return 0


def _fresh_database(*, reuse_contacts: int | None) -> tuple[str, bool]:
    """(URL of the bench database, whether it already holds ``reuse_contacts`` contacts and is kept as is)."""
    import psycopg

    admin_url, bench_url, bench = _database_urls()
    if reuse_contacts is not None and _loaded_contacts(bench_url) == reuse_contacts:
        return bench_url, True
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{bench}"')
    return bench_url, False


def _setup(args) -> bool:
    """Point Django at the bench database and migrate it; True when it already holds the data (``--reuse``)."""
    os.environ["DATABASE_URL"], reused = _fresh_database(reuse_contacts=args.contacts if args.reuse else None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="crm-bench-media-")
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated {'the reused' if reused else 'a fresh'} database in {time.perf_counter() - started:.1f} s")
    return reused


def load(*, n_contacts: int, n_companies: int) -> dict:
    """Users, teams, companies, contacts, emails and phones; COPY for the bulk tables. Returns facts for the runs."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    from crm.models import CustomFieldDefinition, Team

    User = get_user_model()
    rng = random.Random(42)
    started = time.perf_counter()
    sales = Group.objects.get_or_create(name="Sales")[0]
    User.objects.create(username="bench-admin", is_superuser=True, is_staff=True, first_name="Ada")
    reps = []
    for i in range(20):
        rep = User.objects.create(username=f"rep{i}", first_name=rng.choice(FIRST), last_name=rng.choice(LAST),
                                  email=f"rep{i}@bench.example")
        rep.groups.add(sales)
        reps.append(rep)
    teams = []
    for t in range(4):
        team = Team.objects.create(name=f"Team {t}", manager=reps[t * 5])
        team.members.add(*reps[t * 5:(t + 1) * 5])
        teams.append(team)
    CustomFieldDefinition.objects.create(object_type="contact", key="score", label="Score", field_type="number")
    now = timezone.now()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy("COPY crm_company (id, name, domain, industry, size, street, city, region, postal_code, "
                      "country, owner_id, team_id, tags, custom, created_at, updated_at) FROM STDIN") as copy:
            for i in range(1, n_companies + 1):
                owner = reps[i % 20]
                copy.write_row((i, f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(SUFFIX)} {i}",
                                f"company{i}.example", rng.choice(INDUSTRIES), "11-50", "", "Berlin", "", "", "DE",
                                owner.pk, None, [], Jsonb({}), now, now))
        with raw.copy("COPY crm_contact (id, first_name, last_name, title, company_id, owner_id, team_id, "
                      "lifecycle_stage, lead_source, tags, custom, email, phone, created_at, updated_at) "
                      "FROM STDIN") as copy:
            for i in range(1, n_contacts + 1):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                owner = reps[i % 20]
                team = teams[(i % 20) // 5].pk if i % 5 == 0 else None
                tags = rng.sample(TAGS, rng.randrange(0, 3))
                email = f"{_ascii(first)}.{_ascii(last)}{i}@company{(i % n_companies) + 1}.example"
                created = now - timedelta(minutes=i)
                copy.write_row((i, first, last, "Buyer" if i % 3 else "Head of IT", (i % n_companies) + 1,
                                owner.pk, team, STAGES[i % 6], SOURCES[i % 6], tags, Jsonb({"score": i % 100}),
                                email, f"+4930{10000000 + i}", created, created))
        cursor.execute("SELECT id, email FROM crm_contact ORDER BY id")
        rows = cursor.fetchall()
        with raw.copy("COPY crm_contactemail (contact_id, email, is_primary) FROM STDIN") as copy:
            for contact_id, email in rows:
                copy.write_row((contact_id, email, True))
                if contact_id % 5 == 0:
                    copy.write_row((contact_id, f"private{contact_id}@mail.example", False))
        with raw.copy("COPY crm_contactphone (contact_id, number, kind) FROM STDIN") as copy:
            for contact_id in range(1, n_contacts + 1):
                copy.write_row((contact_id, f"+4930{10000000 + contact_id}", "work"))
                if contact_id % 4 == 0:
                    copy.write_row((contact_id, f"+49151{20000000 + contact_id}", "mobile"))
        # A few hundred planted duplicates for the duplicates page (same email / same phone as another contact).
        for contact_id in range(7, min(n_contacts, 3000), 10):
            cursor.execute("INSERT INTO crm_contactemail (contact_id, email, is_primary) "
                           "SELECT %s, email, false FROM crm_contact WHERE id = %s", [contact_id + 1, contact_id])
        for table in ("crm_company", "crm_contact", "crm_contactemail", "crm_contactphone"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    print(f"loaded {n_companies:,} companies, {n_contacts:,} contacts (+emails, phones, tags, owners) "
          f"in {time.perf_counter() - started:.1f} s")
    return loaded_facts(n_contacts=n_contacts)


def loaded_facts(*, n_contacts: int) -> dict:
    """The users and search words of the runs, read back from the loaded data (so ``--reuse`` finds them too)."""
    from django.contrib.auth import get_user_model

    from crm.models import Contact

    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(username__in=["bench-admin", "rep0", "rep3"])}
    sample = Contact.objects.filter(pk__lte=n_contacts).order_by("id").values_list("email", flat=True)[n_contacts // 2]
    return {"admin": users["bench-admin"], "rep": users["rep3"], "manager": users["rep0"],
            "email_fragment": sample.split("@")[0][-9:], "company_word": "Falke"}


def _result_count(html: str) -> str:
    match = re.search(r'data-testid="result-count">([^<]*)<', html)
    return match.group(1).strip() if match else ""


def measure(client, url: str, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches (templates, connection)
    times, counts, db_times = [], [], []
    result = ""
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(ctx.captured_queries))
        db_times.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
        result = _result_count(body.decode())
        if not result and url.startswith("/api/"):
            result = f"{response.json()['count']} contacts"
    return {"median": statistics.median(times), "max": max(times), "queries": counts[-1],
            "db": statistics.median(db_times),
            "stable": len(set(counts)) == 1, "result": result}


def run_pages(facts: dict, runs: int) -> None:
    from django.db import connection
    from django.test import Client

    with connection.cursor() as cursor:
        started = time.perf_counter()
        for _ in range(runs):
            cursor.execute("SELECT count(*) FROM crm_contact")
            cursor.fetchone()
        baseline = (time.perf_counter() - started) * 1000 / runs
    scenarios = [
        ("list, first page", "/crm/contacts/"),
        ("list, page 50", "/crm/contacts/?page=50"),
        ("list sorted by company", "/crm/contacts/?sort=company"),
        ("search name 'Garcia'", "/crm/contacts/?q=Garcia"),
        ("search name 'anna müller'", "/crm/contacts/?q=anna+m%C3%BCller"),
        (f"search email '{facts['email_fragment']}'", f"/crm/contacts/?q={facts['email_fragment']}"),
        ("search phone '30 1004 2'", "/crm/contacts/?q=30+1004+2"),
        (f"search company '{facts['company_word']}'", f"/crm/contacts/?q={facts['company_word']}"),
        ("filter lifecycle+tag", "/crm/contacts/?lifecycle=customer&tag=vip"),
        ("filter owner=me, sorted", "/crm/contacts/?owner=me&sort=-created"),
        ("filter custom score=42", "/crm/contacts/?cf_score=42"),
        ("API list", "/api/crm/contacts/"),
        ("API search 'Garcia'", "/api/crm/contacts/?search=Garcia"),
        ("duplicates review", "/crm/duplicates/"),
    ]
    from crm.services.duplicates import duplicates_scan

    started = time.perf_counter()
    scan = duplicates_scan()
    print(f"\nduplicates scan (worker task, set-based): {scan.pairs:,} pairs in {time.perf_counter() - started:.2f} s")
    with connection.cursor() as cursor:
        # As autovacuum soon would: the scan rewrote the candidates (over those of earlier runs with --reuse).
        cursor.execute("ANALYZE crm_duplicatecandidate")
    print(f"baseline: SELECT count(*) FROM crm_contact = {baseline:.1f} ms\n")
    header = (f"{'user':<8} {'scenario':<34} {'median ms':>10} {'max ms':>8} {'db ms':>7} {'x base':>7} "
              f"{'queries':>8}  result")
    print(header)
    print("-" * len(header))
    for label in ("admin", "rep", "manager"):
        client = Client()
        client.force_login(facts[label])
        for name, url in scenarios:
            try:
                m = measure(client, url, runs)
            except Exception as exc:  # a page that does not exist yet must not hide the other figures
                print(f"{label:<8} {name:<34} failed: {exc!r}"[:160])
                continue
            stable = "" if m["stable"] else "~"
            print(f"{label:<8} {name:<34} {m['median']:>10.1f} {m['max']:>8.1f} {m['db']:>7.1f} "
                  f"{m['median'] / baseline:>7.1f} {m['queries']:>7}{stable:1}  {m['result']}")


def run_import(facts: dict, rows: int, n_contacts: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm.models import Contact, ImportJob
    from crm.services.imports import import_job_run

    rng = random.Random(9)
    path = Path(tempfile.mkdtemp(prefix="crm-bench-csv-")) / "contacts.csv"
    existing = list(Contact.objects.order_by("id").values_list("email", flat=True)[: rows // 2])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "First name", "Last name", "Phone", "Company", "Tags", "Lifecycle stage", "Title"])
        for i in range(rows):
            email = existing[i] if i < len(existing) else f"new{i}@import.example"
            writer.writerow([email, rng.choice(FIRST), rng.choice(LAST), f"030 {5000000 + i}",
                             f"Imported {i % 500}", "imported; " + rng.choice(TAGS), rng.choice(STAGES), "Imported"])
    size_mb = path.stat().st_size / 1e6
    client = Client()
    client.force_login(facts["admin"])
    started = time.perf_counter()
    with path.open("rb") as handle:
        response = client.post("/crm/imports/", {"object_type": "contact", "file": handle, "phone_region": "DE"})
    upload_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 302, response.content[:500]
    job = ImportJob.objects.latest("id")
    client.post(f"/crm/imports/{job.pk}/map/", {f"col_{i}": f for i, f in enumerate(
        ["email", "first_name", "last_name", "phone", "company_name", "tags", "lifecycle_stage", "title"])})
    # Start through the page with a real broker (the request only queues); the bench then runs the job itself.
    from config.celery import app

    app.conf.task_always_eager = False
    start_ms = None
    try:
        started = time.perf_counter()
        response = client.post(f"/crm/imports/{job.pk}/start/")
        start_ms = (time.perf_counter() - started) * 1000
        app.control.purge()
    except Exception as exc:  # no Redis reachable: start it directly instead
        print(f"(start request not timed: {exc!r})")
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    finally:
        app.conf.task_always_eager = True
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        runs = 1
        while import_job_run(job_id=job.pk, time_budget=10_000):
            runs += 1
        seconds = time.perf_counter() - started
    job.refresh_from_db()
    print(f"\nimport of {rows:,} rows ({size_mb:.1f} MB CSV; {len(existing):,} match existing contacts):")
    print(f"  upload request (store + count rows): {upload_ms:8.0f} ms")
    if start_ms is not None:
        print(f"  start request (queues the job):      {start_ms:8.0f} ms")
    print(f"  job run in-process (as the worker):  {seconds:8.1f} s  = {rows / seconds:,.0f} rows/s, "
          f"{len(ctx.captured_queries):,} queries ({len(ctx.captured_queries) / (rows / 1000):.0f} per 1,000 rows)")
    print(f"  result: status={job.status} created={job.created_count:,} updated={job.updated_count:,} "
          f"failed={job.failed_count:,}; contacts now {Contact.objects.count():,} (was {n_contacts:,})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="skip the load when the bench database already holds --contacts contacts")
    parser.add_argument("--load-only", action="store_true",
                        help="load (or reuse) the data and stop: generate outside the bench lock, measure under it")
    args = parser.parse_args()
    if args.load_only and not args.keep:
        parser.error("--load-only needs --keep (a later run measures the loaded data with --reuse)")
    if args.reuse and not args.skip_import:
        parser.error("--reuse needs --skip-import (the import changes the data a later run would reuse)")
    if _setup(args):
        print("reusing the loaded bench database")
        facts = loaded_facts(n_contacts=args.contacts)
    else:
        facts = load(n_contacts=args.contacts, n_companies=args.companies)
    if args.load_only:
        return
    run_pages(facts, args.runs)
    if not args.skip_import:
        run_import(facts, args.import_rows, args.contacts)
    if not args.keep:
        import psycopg
        from django.db import connections

        connections.close_all()
        admin_url, _bench_url, bench = _database_urls_after()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench}" WITH (FORCE)')


def _database_urls_after() -> tuple[str, str, str]:
    parts = urlsplit(os.environ["DATABASE_URL"])
    bench = parts.path.lstrip("/")
    return urlunsplit(parts._replace(path="/postgres")), os.environ["DATABASE_URL"], bench


if __name__ == "__main__":
    main()
