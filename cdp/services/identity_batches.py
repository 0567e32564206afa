"""Processing stored ingest batches through identity resolution: which batches, which transactions.

A task names one batch. Its worker also claims other unprocessed batches of the same source that no one else
holds, oldest first, up to ``CDP_PROCESS_MAX_EVENTS`` events: SDKs send small batches (analytics.js and the
server libraries flush at 20-100 events), and a transaction's fixed cost is better spread over thousands.

Two passes (see cdp.services.identity_locks): the first resolves, without waiting, every unresolved event that
needs no lock another worker holds and marks processed the batches it finished; the second, only if the first
deferred something, resolves the rest waiting for the locks. Each pass is one transaction committed
asynchronously (derived data: a crash leaves the batches unprocessed and the sweep re-queues them), and
idempotent: what a pass resolved stays resolved, a later one takes the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from psycopg.errors import DeadlockDetected

from cdp.extensions import profiles_changed_listeners
from cdp.models import IngestBatch
from cdp.services import computed_traits as ct
from cdp.services.identity import BatchOutcome, EventRow, identity_process_events
from cdp.services.identity_rules import IdentityRules, identity_rules_load
from cdp.services.identity_statistics import identity_statistics_ensure
from cdp.services.traits import PG_TIME_FORMAT
from config.db import hot_cursor, ints


@dataclass
class _Pass:
    outcome: BatchOutcome
    waiting: list[int] = field(default_factory=list)  # batches left unprocessed (events deferred)


def identity_batch_process(*, batch_id: int, max_attempts: int = 6) -> BatchOutcome | None:
    """Resolve batch ``batch_id`` (and the batches claimed with it); None if the batch is unknown, already
    processed or held by another worker. A deadlock between two workers (Postgres aborts one) is retried.

    Events the first pass deferred (another worker holds their people) are resolved at once by a second pass
    that waits for the locks: by then the other worker is usually done. (Queueing them again instead was
    measured: the extra transactions cost more than the wait.)
    """
    # Rules and definitions are read before the transaction: they are configuration, not locked state.
    rules, defns = identity_rules_load(), ct.definitions_enabled()
    first = _in_transaction(lambda: _first_pass(batch_id, rules=rules, defns=defns), max_attempts)
    if first is None:
        return None
    identity_statistics_ensure()  # a new database: see cdp.services.identity_statistics
    outcomes = [first.outcome]
    if first.waiting:
        second = _in_transaction(
            lambda: _second_pass(first.waiting, first.outcome.deferred, rules=rules, defns=defns), max_attempts)
        if second is not None:
            outcomes.append(second.outcome)
    outcome = _combined(outcomes)
    if outcome.touched_profiles:
        for listener in profiles_changed_listeners():
            listener(outcome.touched_profiles)
    return outcome


def _in_transaction(work, max_attempts: int):
    for attempt in range(max_attempts):
        try:
            with transaction.atomic():
                _commit_without_waiting_for_disk()
                return work()
        except OperationalError as exc:
            if not isinstance(exc.__cause__, DeadlockDetected) or attempt == max_attempts - 1:
                raise
    return None  # pragma: no cover - the loop either returns or raises


def _commit_without_waiting_for_disk() -> None:
    """Asynchronous commit for this transaction only: its locks are released without waiting for the WAL flush.

    Safe because everything written here is derived from stored events and committed atomically with the
    batches' ``processed_at``: if a server crash loses the last few such commits, their batches are simply
    unprocessed again and the sweep re-queues them (the events themselves were committed durably at ingest).
    """
    with hot_cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit TO off")


# Batches looked at per claim: enough for CDP_PROCESS_MAX_EVENTS in SDK-sized batches (20-100 events).
_MAX_CANDIDATES = 400


def _claim(batch_id: int) -> list[IngestBatch]:
    """The task's batch plus unprocessed batches of its source that no one holds, up to the event budget; empty
    if the task's batch is unknown, already processed or held by another worker (which took it along with its
    own: the task has nothing to do, and a worker that dies holding it leaves it to the sweep)."""
    batch = (IngestBatch.objects.select_for_update(of=("self",), skip_locked=True).select_related("source")
             .filter(pk=batch_id).first())
    if batch is None or batch.processed_at is not None:
        return []
    budget = settings.CDP_PROCESS_MAX_EVENTS - batch.event_count
    picked: list[int] = []
    if budget > 0:
        candidates = (IngestBatch.objects.filter(source_id=batch.source_id, processed_at__isnull=True)
                      .exclude(pk=batch_id).order_by("received_at", "id")
                      .values_list("id", "event_count")[:_MAX_CANDIDATES])
        for pk, count in candidates:
            if count > budget:
                break
            picked.append(pk)
            budget -= count
    others = list(IngestBatch.objects.select_for_update(of=("self",), skip_locked=True)
                  .filter(pk__in=picked, processed_at__isnull=True).order_by("id")) if picked else []
    return [batch, *others]


def _first_pass(batch_id: int, *, rules: IdentityRules, defns: list) -> _Pass | None:
    batches = _claim(batch_id)
    if not batches:
        return None
    events = _events_of(batches)
    outcome = identity_process_events(events=events, rules=rules, defns=defns, wait=False)
    return _finish(batches, outcome)


def _second_pass(batch_ids: list[int], deferred: list[EventRow], *, rules: IdentityRules, defns: list) -> _Pass | None:
    """Resolve ``deferred`` waiting for locks. The batches are locked again (in id order) and those another
    worker finished meanwhile are left out; the events' current profile is re-read, so an event another worker
    resolved in between counts as already resolved."""
    batches = list(IngestBatch.objects.select_for_update(of=("self",)).select_related("source")
                   .filter(pk__in=batch_ids, processed_at__isnull=True).order_by("id"))
    if not batches:
        return None
    open_ids = {b.pk for b in batches}
    events = [e for e in deferred if e.batch_id in open_ids]
    _refresh_profile_ids(events)
    outcome = identity_process_events(events=events, rules=rules, defns=defns, wait=True)
    return _finish(batches, outcome)


def _finish(batches: list[IngestBatch], outcome: BatchOutcome) -> _Pass:
    """Create CRM leads if the source says so; mark processed the batches with nothing deferred and count a try
    on the others."""
    source = batches[0].source
    if outcome.new_profiles and (source.settings or {}).get("create_crm_lead"):
        from cdp.services.identity_crm import crm_leads_create

        crm_leads_create(source=source, profile_ids=outcome.new_profiles)
    ids = [b.pk for b in batches]
    waiting = sorted({e.batch_id for e in outcome.deferred})
    done = [pk for pk in ids if pk not in waiting]
    IngestBatch.objects.filter(pk__in=ids).update(
        attempts=F("attempts") + 1,
        processed_at=Case(When(pk__in=done, then=Value(timezone.now())), default=F("processed_at")))
    return _Pass(outcome, waiting=waiting)


def _events_of(batches: list[IngestBatch]) -> list[EventRow]:
    """The batches' events not resolved yet (a batch tried before keeps what it resolved; one never tried has
    none resolved, which spares the check); payloads decoded with orjson (the hot path). A batch's events share
    its source and ``received_at``, so the source's index finds them and only those days' partitions are read.
    The event time comes as its UTC ``time_key`` text."""
    kind, keys = batches[0].source.kind, batches[0].source.asserts_identity
    received = {b.pk: b.received_at for b in batches}
    unresolved = "" if all(b.attempts == 0 for b in batches) else (
        "AND NOT EXISTS (SELECT 1 FROM cdp_eventprofile p WHERE p.event_id = e.id)")
    with hot_cursor() as cur:
        cur.execute(
            "SELECT id, type, message_id, to_char(\"timestamp\" AT TIME ZONE 'UTC', %s), payload::text, batch_id "
            f"FROM cdp_rawevent e WHERE source_id = %s AND received_at = ANY(%s) AND batch_id = ANY(%s) {unresolved}",
            [PG_TIME_FORMAT, batches[0].source_id, sorted(set(received.values())), list(received)],
        )
        loads = orjson.loads
        return [EventRow(i, t, m, at, loads(p), None, kind, received[b], b, keys) for i, t, m, at, p, b in cur]


def _refresh_profile_ids(events: list[EventRow]) -> None:
    if not events:
        return
    with hot_cursor() as cur:
        cur.execute("SELECT event_id, profile_id FROM cdp_eventprofile WHERE event_id = ANY(%s::bigint[])",
                    [ints(e.id for e in events)])
        current = dict(cur.fetchall())
    for e in events:
        e.profile_id = current.get(e.id)


def _combined(outcomes: list[BatchOutcome]) -> BatchOutcome:
    total = BatchOutcome()
    for o in outcomes:
        total.events += o.events
        total.profiles_created += o.profiles_created
        total.merges += o.merges
        total.refusals += o.refusals
        total.touched_profiles = sorted(set(total.touched_profiles) | set(o.touched_profiles))
        total.new_profiles += o.new_profiles
    return total


def batch_waiting_next(*, exclude: list[int]) -> int | None:
    """The oldest unprocessed batch not in ``exclude`` that no worker holds right now (None if there is none)."""
    with hot_cursor() as cur:
        cur.execute(
            "SELECT id FROM cdp_ingestbatch WHERE processed_at IS NULL AND NOT (id = ANY(%s::bigint[])) "
            "ORDER BY received_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            [ints(exclude)],
        )
        row = cur.fetchone()
    return row[0] if row else None
