"""A batch does not queue behind another worker for the people it does not share with it."""

from __future__ import annotations

import psycopg
import pytest

from cdp.models import Identifier, IngestBatch, Profile, RawEvent
from cdp.services.identity_locks import lock_key
from cdp.services.ingest import events_ingest
from tests import workers
from tests.cdp.identity_support import msg, profile_of, source
from tests.workers import wait_until


def _messages():
    return [msg("identify", minute=0, anonymousId="free-dev", userId="free-user", traits={"plan": "free"}),
            msg("track", minute=1, anonymousId="free-dev", event="Clicked"),
            msg("identify", minute=2, anonymousId="held-dev", userId="held-user", traits={"plan": "pro"}),
            msg("track", minute=3, anonymousId="held-dev", event="Clicked")]


def _profile_id(type_: str, value: str) -> int | None:
    return Identifier.objects.filter(type=type_, value=value).values_list("profile_id", flat=True).first()


@pytest.mark.worker
def test_people_held_by_another_transaction_wait_while_the_rest_of_the_batch_is_resolved(celery_worker_process):
    blocker = psycopg.connect(workers.worker_database_url(), autocommit=True)
    try:
        # Another transaction holds one identifier of the second person.
        blocker.execute("SELECT pg_advisory_lock(%s)", [lock_key(("user_id", "held-user"))])
        result = events_ingest(source=source(), messages=_messages())

        # The first person is resolved and committed while the second waits; the batch is not done yet.
        assert wait_until(lambda: _profile_id("user_id", "free-user") is not None, timeout=30)
        assert _profile_id("anonymous_id", "held-dev") is None
        assert IngestBatch.objects.get(pk=result.batch_id).processed_at is None
        free = Profile.objects.get(pk=_profile_id("user_id", "free-user"))
        assert free.traits == {"plan": "free"}
        assert set(RawEvent.objects.filter(profile_links__profile_id=free.pk).values_list("type", flat=True)) == {
            "identify", "track"}
        assert not RawEvent.objects.filter(anonymous_id="held-dev", profile_links__isnull=False).exists()

        blocker.execute("SELECT pg_advisory_unlock_all()")
    finally:
        blocker.close()
    assert wait_until(lambda: IngestBatch.objects.get(pk=result.batch_id).processed_at is not None, timeout=30)
    held = profile_of("user_id", "held-user")
    assert profile_of("anonymous_id", "held-dev").pk == held.pk != free.pk
    assert held.traits == {"plan": "pro"}
    assert not RawEvent.objects.filter(profile_links__isnull=True).exists()
    assert Profile.objects.count() == 2
