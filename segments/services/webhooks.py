"""Sending webhook deliveries: claim due ones (SKIP LOCKED), fix their body at the first attempt, POST them
signed (several at a time), and record each outcome: delivered, retried later with exponential backoff and
jitter (or after Retry-After), or dead after the last attempt.

Nothing here runs inside a refresh: deliveries are recorded by the refresh and sent by a Celery task after it
commits. A worker that dies mid-send leaves rows ``sending``; the sweep puts them back after a while (the
receiver deduplicates by delivery id).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cdp.models import Identifier, Profile
from segments.models import Delivery, Destination, Segment
from segments.services import webhook_http
from segments.services.webhook_http import Result

S = Delivery.Status


@dataclass
class SendOutcome:
    sent: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


def backoff_seconds(attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): exponential (base × 2^(attempt-1),
    capped) with "equal jitter" (a random point in the upper half), or the receiver's Retry-After when it
    gives one (capped at SEGMENTS_WEBHOOK_RETRY_AFTER_MAX_SECONDS)."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), float(settings.SEGMENTS_WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    base = settings.SEGMENTS_WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0)
    delay = min(base, settings.SEGMENTS_WEBHOOK_BACKOFF_MAX_SECONDS)
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def _bodies(deliveries: list[Delivery]) -> None:
    """Fix the body of each delivery that has none yet (its first attempt), in a few queries."""
    todo = [d for d in deliveries if not d.body]
    if not todo:
        return
    pids = {d.profile_id for d in todo}
    profiles = {pk: (traits, contact) for pk, traits, contact in
                Profile.objects.filter(pk__in=pids).values_list("pk", "traits", "crm_contact_id")}
    identifiers: dict[int, dict[str, list[str]]] = {}
    for pid, type_, value in (Identifier.objects.filter(profile_id__in=pids).order_by("type", "value")
                              .values_list("profile_id", "type", "value")):
        identifiers.setdefault(pid, {}).setdefault(type_, []).append(value)
    segment_names = dict(Segment.objects.filter(pk__in={d.destination.segment_id for d in todo})
                         .values_list("pk", "name"))
    for d in todo:
        dest = d.destination
        profile_traits, contact_id = profiles.get(d.profile_id) or ({}, None)
        profile_traits = profile_traits or {}
        payload = {
            "id": str(d.delivery_id), "type": f"segment.{d.event}", "event": d.event,
            "occurred_at": d.occurred_at.isoformat(),
            "segment": {"id": dest.segment_id, "name": segment_names.get(dest.segment_id, "")},
            "profile": {"id": d.profile_id, "identifiers": identifiers.get(d.profile_id, {}),
                        "crm_contact_id": contact_id},
            "traits": {k: profile_traits[k] for k in dest.traits if k in profile_traits},
        }
        d.body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)


_CLAIM_SQL = """
    WITH due AS (
        SELECT id FROM {table}
         WHERE status IN ('pending', 'retrying') AND next_attempt_at <= %(now)s {only}
         ORDER BY next_attempt_at LIMIT %(limit)s
           FOR UPDATE SKIP LOCKED)
    UPDATE {table} d SET status = 'sending', claimed_at = %(now)s FROM due WHERE d.id = due.id
    RETURNING d.id, d.delivery_id, d.destination_id, d.membership_id, d.profile_id, d.event, d.occurred_at,
              d.attempts, d.body"""


def _claim(*, now: dt.datetime, limit: int, ids: list[int] | None) -> list[Delivery]:
    """Mark up to ``limit`` due deliveries ``sending`` (rows another worker holds are skipped) and fix the bodies
    of the first attempts: two statements and the body's reads, in one short transaction."""
    table = Delivery._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_CLAIM_SQL.format(table=table, only="AND id = ANY(%(ids)s)" if ids is not None else ""),
                    {"now": now, "limit": limit, "ids": ids})
        rows = cur.fetchall()
        if not rows:
            return []
        destinations = Destination.objects.in_bulk({r[2] for r in rows})
        claimed = []
        for pk, delivery_id, dest_id, membership_id, profile_id, event, occurred_at, attempts, body in rows:
            d = Delivery(id=pk, delivery_id=delivery_id, destination_id=dest_id, membership_id=membership_id,
                         profile_id=profile_id, event=event, occurred_at=occurred_at, attempts=attempts,
                         body=body, status=S.SENDING, claimed_at=now)
            d.destination = destinations[dest_id]
            claimed.append(d)
        fresh = [d for d in claimed if not d.body]
        _bodies(fresh)
        if fresh:
            cur.execute(f"UPDATE {table} t SET body = v.body FROM unnest(%s::bigint[], %s::text[]) AS v(id, body) "
                        "WHERE t.id = v.id", [[d.pk for d in fresh], [d.body for d in fresh]])
    claimed.sort(key=lambda d: d.pk)
    return claimed


def _secrets(dest: Destination, now: dt.datetime) -> list[str]:
    out = [dest.secret]
    if dest.previous_secret and dest.previous_secret_until and dest.previous_secret_until > now:
        out.append(dest.previous_secret)
    return out


def delivery_post(delivery: Delivery, *, now: dt.datetime | None = None,
                  resolved: dict | None = None) -> Result:
    """One signed POST of ``delivery`` (its body must be fixed). ``resolved``: the DNS answers (each checked) of
    this batch, shared by its calls (see webhook_http.resolve)."""
    dest = delivery.destination
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {
        "X-Webhook-Id": str(delivery.delivery_id),
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": webhook_http.signature_header(_secrets(dest, now or timezone.now()), timestamp, body),
    }
    return webhook_http.post(dest.url, body=body, headers=headers, resolved=resolved)


_RECORD_SQL = """
    UPDATE {table} t
       SET attempts = v.attempts, last_status_code = v.code, last_response_ms = v.ms, claimed_at = NULL,
           status = v.status, delivered_at = v.delivered_at, last_error = v.error, next_attempt_at = v.next_at,
           dead_at = v.dead_at
      FROM unnest(%s::bigint[], %s::smallint[], %s::integer[], %s::integer[], %s::text[], %s::timestamptz[],
                  %s::text[], %s::timestamptz[], %s::timestamptz[])
           AS v(id, attempts, code, ms, status, delivered_at, error, next_at, dead_at)
     WHERE t.id = v.id"""


def _record(pairs: list[tuple[Delivery, Result]], *, now: dt.datetime, retries: bool) -> SendOutcome:
    """Write every outcome in one UPDATE; queue a task for the earliest retry."""
    outcome = SendOutcome(sent=len(pairs))
    max_attempts = settings.SEGMENTS_WEBHOOK_MAX_ATTEMPTS if retries else 1
    earliest: float | None = None
    for d, r in pairs:
        d.attempts += 1
        d.last_status_code = r.status
        d.last_response_ms = r.elapsed_ms
        d.claimed_at = None
        if r.ok:
            d.status, d.delivered_at, d.last_error, d.next_attempt_at = S.DELIVERED, now, r.error, None
            outcome.delivered += 1
        elif r.retryable and d.attempts < max_attempts:
            wait = backoff_seconds(d.attempts, retry_after=r.retry_after)
            d.status, d.last_error = S.RETRYING, r.error[:2000]
            d.next_attempt_at = now + dt.timedelta(seconds=wait)
            earliest = wait if earliest is None else min(earliest, wait)
            outcome.retrying += 1
        else:
            d.status, d.last_error, d.next_attempt_at, d.dead_at = S.DEAD, r.error[:2000], None, now
            outcome.dead += 1
    columns = ("pk", "attempts", "last_status_code", "last_response_ms", "status", "delivered_at", "last_error",
               "next_attempt_at", "dead_at")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_RECORD_SQL.format(table=Delivery._meta.db_table),
                    [[getattr(d, c) for d, _ in pairs] for c in columns])
        if earliest is not None:
            from config.queueing import task_by_name  # noqa: PLC0415

            task = task_by_name("segments.tasks.send_deliveries")
            transaction.on_commit(lambda: task.apply_async(countdown=max(1.0, earliest)), robust=True)
    return outcome


_executor: ThreadPoolExecutor | None = None
_executor_key: tuple[int, int] | None = None
_executor_lock = threading.Lock()


def _threads(workers: int) -> ThreadPoolExecutor:
    """The sending threads of this process, kept across batches (created again after a fork)."""
    global _executor, _executor_key  # noqa: PLW0603
    key = (os.getpid(), workers)
    with _executor_lock:
        if _executor is None or _executor_key != key:
            if _executor is not None and _executor_key[0] == key[0]:
                _executor.shutdown(wait=False)
            _executor, _executor_key = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook"), key
        return _executor


def _submit(claimed: list[Delivery], *, now: dt.datetime, concurrency: int | None = None) -> list[Future]:
    """Start the POSTs of a claimed batch on this process's sending threads. Each host of the batch is resolved
    (and checked) once, before the threads start."""
    resolved: dict = {}
    webhook_http.resolve_ahead([d.destination.url for d in claimed], resolved=resolved)
    pool = _threads(concurrency or settings.SEGMENTS_WEBHOOK_CONCURRENCY)
    return [pool.submit(delivery_post, d, now=now, resolved=resolved) for d in claimed]


def _add(total: SendOutcome, out: SendOutcome) -> None:
    for f in ("sent", "delivered", "retrying", "dead"):
        setattr(total, f, getattr(total, f) + getattr(out, f))


def deliveries_send(*, ids: list[int] | None = None, limit: int | None = None, now: dt.datetime | None = None,
                    retries: bool = True, concurrency: int | None = None) -> SendOutcome:
    """Send up to ``limit`` due deliveries (only ``ids`` if given) and record their outcomes. With
    ``retries=False`` a failure is final at once (benchmarks). Safe to run in several workers at once."""
    given = now
    now = now or timezone.now()
    claimed = _claim(now=now, limit=limit or settings.SEGMENTS_WEBHOOK_BATCH, ids=ids)
    if not claimed:
        return SendOutcome()
    if min(concurrency or settings.SEGMENTS_WEBHOOK_CONCURRENCY, len(claimed)) <= 1:
        resolved: dict = {}
        results = [delivery_post(d, now=now, resolved=resolved) for d in claimed]
    else:
        results = [f.result() for f in _submit(claimed, now=now, concurrency=concurrency)]
    return _record(list(zip(claimed, results, strict=True)), now=given or timezone.now(), retries=retries)


def deliveries_send_due(*, budget_seconds: float | None = None) -> SendOutcome:
    """Send due deliveries batch after batch for up to ``budget_seconds`` (then finish what is in flight);
    returns the totals. Two batches are in flight: while one batch's POSTs run, the next is claimed and started
    and the finished one is recorded, so the sending threads do not wait for the database."""
    budget = settings.SEGMENTS_WEBHOOK_TASK_SECONDS if budget_seconds is None else budget_seconds
    total = SendOutcome()
    started = time.monotonic()
    inflight: deque[tuple[list[Delivery], list[Future]]] = deque()
    exhausted = False
    while True:
        while not exhausted and len(inflight) < 2:
            if time.monotonic() - started > budget and (inflight or total.sent):
                break  # out of time (but one batch at least)
            now = timezone.now()
            claimed = _claim(now=now, limit=settings.SEGMENTS_WEBHOOK_BATCH, ids=None)
            if not claimed:
                exhausted = True
                break
            inflight.append((claimed, _submit(claimed, now=now)))
        if not inflight:
            return total
        claimed, futures = inflight.popleft()
        results = [f.result() for f in futures]
        _add(total, _record(list(zip(claimed, results, strict=True)), now=timezone.now(), retries=True))


def deliveries_more_due(*, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return Delivery.objects.filter(status__in=[S.PENDING, S.RETRYING], next_attempt_at__lte=now).exists()


def deliveries_sweep(*, now: dt.datetime | None = None, stuck_after: dt.timedelta = dt.timedelta(minutes=10)) -> int:
    """Put back deliveries left ``sending`` by a worker that died (they count as an attempt)."""
    now = now or timezone.now()
    return Delivery.objects.filter(Q(status=S.SENDING) & Q(claimed_at__lte=now - stuck_after)).update(
        status=S.RETRYING, next_attempt_at=now, claimed_at=None, last_error="The sending worker stopped.")
