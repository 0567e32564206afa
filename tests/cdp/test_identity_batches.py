"""One task takes the waiting batches of its source together, within the event budget."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdp.models import IngestBatch, RawEvent
from cdp.services.processing import batch_process
from cdp.services.traits import PG_TIME_FORMAT, time_key
from tests.cdp.identity_support import ingest, msg, profile_of, source

pytestmark = pytest.mark.django_db


def _small_batches(src, n: int, *, device: str = "dev") -> list[int]:
    """``n`` SDK-sized batches: one visitor browsing, then logging in in the last one."""
    ids = [ingest(src, [msg("page", minute=i, anonymousId=device)], process=False) for i in range(n - 1)]
    ids.append(ingest(src, [msg("identify", minute=n, anonymousId=device, userId=f"{device}-user",
                                traits={"plan": "pro"})], process=False))
    return ids


def test_a_task_processes_the_waiting_batches_of_its_source_in_one_transaction():
    src = source()
    ids = _small_batches(src, 6)
    with CaptureQueriesContext(connection) as queries:
        batch_process(batch_id=ids[0])
    assert not IngestBatch.objects.filter(pk__in=ids, processed_at__isnull=True).exists()
    person = profile_of("user_id", "dev-user")
    assert set(RawEvent.objects.values_list("profile_links__profile_id", flat=True)) == {person.pk}
    assert person.traits == {"plan": "pro"}
    single = len(queries)
    # Identity resolution's own cursor is logged like any other (so the check below can see its queries).
    assert any("cdp_rawevent" in q["sql"] for q in queries.captured_queries)

    # The tasks of the batches taken along find them done.
    with CaptureQueriesContext(connection) as queries:
        for batch_id in ids[1:]:
            batch_process(batch_id=batch_id)
    assert not [q for q in queries.captured_queries if "cdp_rawevent" in q["sql"] or "cdp_identifier" in q["sql"]]
    assert single < 40


def test_other_sources_and_the_event_budget_are_respected(settings):
    settings.CDP_PROCESS_MAX_EVENTS = 3
    src, other = source(), source()
    ids = _small_batches(src, 5)
    foreign = ingest(other, [msg("page", minute=0, anonymousId="elsewhere")], process=False)

    batch_process(batch_id=ids[0])
    done = set(IngestBatch.objects.filter(processed_at__isnull=False).values_list("id", flat=True))
    assert done == set(ids[:3])  # the task's batch and the two oldest waiting ones: three events
    assert foreign not in done

    for batch_id in (*ids, foreign):
        batch_process(batch_id=batch_id)
    assert not IngestBatch.objects.filter(processed_at__isnull=True).exists()
    assert profile_of("anonymous_id", "dev").pk == profile_of("user_id", "dev-user").pk
    assert profile_of("anonymous_id", "elsewhere").pk != profile_of("user_id", "dev-user").pk


@pytest.mark.parametrize("stamp", ["2026-11-01T10:00:00Z", "2026-11-01T10:00:00.000001+00:00",
                                   "2026-03-29T01:30:00.5+02:00", "0999-12-31T23:59:59.999999-05:00"])
def test_postgres_writes_event_times_as_python_does(stamp):
    """Batches read each event's time as Postgres's text (PG_TIME_FORMAT); it must be the key Python's
    time_key gives the same instant, or traits would compare times written two ways."""
    at = datetime.fromisoformat(stamp)
    with connection.cursor() as cur:
        cur.execute("SELECT to_char(%s::timestamptz AT TIME ZONE 'UTC', %s)", [at, PG_TIME_FORMAT])
        written = cur.fetchone()[0]
    assert written == time_key(at)
    assert datetime.fromisoformat(written) == at
