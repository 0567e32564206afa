"""A new database: identity tables that grew without planner statistics are analysed once."""

from __future__ import annotations

import pytest
from django.db import connection

from cdp.services.identity_statistics import identity_statistics_ensure, identity_statistics_forget
from cdp.services.processing import batch_process
from tests.cdp.identity_support import ingest, msg, source

pytestmark = pytest.mark.django_db

PROBE = "test_identity_statistics_probe"


@pytest.fixture(autouse=True)
def _fresh_checks():
    identity_statistics_forget()
    yield
    identity_statistics_forget()


def _probe(rows: int) -> None:
    """A table of the test's own (rolled back with it), so no other test's statistics interfere."""
    with connection.cursor() as cur:
        cur.execute(f"CREATE TABLE {PROBE} (id bigint, profile_id bigint)")
        cur.execute(f"INSERT INTO {PROBE} SELECT g, g / 3 FROM generate_series(1, %s) g", [rows])


def _has_statistics(table: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s "
                    "AND attname = 'profile_id')", [table])
        return cur.fetchone()[0]


def test_a_grown_table_without_statistics_is_analysed_once():
    _probe(20_000)
    assert not _has_statistics(PROBE)

    assert identity_statistics_ensure(tables=(PROBE,), every=1, min_bytes=64 * 1024) == [PROBE]
    assert _has_statistics(PROBE)
    # Confirmed: the process asks no more.
    assert identity_statistics_ensure(tables=(PROBE,), every=1, min_bytes=64 * 1024) == []


def test_a_small_table_is_left_alone_and_checked_again_later():
    _probe(100)
    assert identity_statistics_ensure(tables=(PROBE,), every=1, min_bytes=64 * 1024) == []
    assert not _has_statistics(PROBE)

    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {PROBE} SELECT g, g FROM generate_series(1, 20000) g")
    assert identity_statistics_ensure(tables=(PROBE,), every=1, min_bytes=64 * 1024) == [PROBE]
    assert _has_statistics(PROBE)


def test_checks_are_spaced_out():
    _probe(100)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {PROBE} SELECT g, g FROM generate_series(1, 20000) g")
    # Call 1 checks (nothing to do while the table is small), calls 2-3 do not look, call 4 does.
    assert identity_statistics_ensure(tables=(PROBE,), every=3, min_bytes=1 << 30) == []
    assert identity_statistics_ensure(tables=(PROBE,), every=3, min_bytes=64 * 1024) == []
    assert identity_statistics_ensure(tables=(PROBE,), every=3, min_bytes=64 * 1024) == []
    assert not _has_statistics(PROBE)
    assert identity_statistics_ensure(tables=(PROBE,), every=3, min_bytes=64 * 1024) == [PROBE]


def test_processing_a_batch_analyses_the_grown_tables(monkeypatch):
    from cdp.services import identity_statistics

    _probe(20_000)
    monkeypatch.setattr(identity_statistics, "TABLES", (PROBE,))
    monkeypatch.setattr(identity_statistics, "MIN_BYTES", 64 * 1024)
    batch = ingest(source(), [msg("identify", userId="u-1", traits={"email": "ann@example.com"})], process=False)
    batch_process(batch_id=batch)
    assert _has_statistics(PROBE)
