"""Destinations of a segment: configure them (webhooks and CRM actions), record what they must do when profiles
enter or leave (rows written in the refresh's own transaction, work queued after commit), and manage the
dead-letter list (replay, discard)."""

from __future__ import annotations

import datetime as dt
import secrets as _secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from config.queueing import enqueue_on_commit
from segments.models import ActionRun, Delivery, Destination, Membership, Segment
from segments.services.webhook_http import url_problem

K = Destination.Kind
CRM_KINDS = (K.TASK, K.TAG_ADD, K.TAG_REMOVE, K.LIFECYCLE, K.CREATE_CONTACT)


def secret_new() -> str:
    return "whsec_" + _secrets.token_urlsafe(32)


# --- configuration --------------------------------------------------------------------------------------------

def _clean_traits(traits: Any) -> list[str]:
    if traits in (None, ""):
        return []
    if isinstance(traits, str):
        traits = [t for t in (p.strip() for p in traits.split(",")) if t]
    if not isinstance(traits, list) or not all(isinstance(t, str) and 0 < len(t) <= 100 for t in traits):
        raise ValidationError({"traits": "Give trait keys as a list of names."})
    return list(dict.fromkeys(traits))[:50]


def _clean_config(kind: str, config: Any) -> dict:
    from segments.services.crm_actions import action_config_clean  # noqa: PLC0415

    if kind == K.WEBHOOK:
        return {}
    return action_config_clean(kind, config if isinstance(config, dict) else {})


def destination_create(*, segment: Segment, kind: str, name: str = "", url: str = "", on_enter: bool = True,
                       on_exit: bool = False, traits: Any = None, config: Any = None,
                       by: AbstractBaseUser | None = None) -> Destination:
    """Add a destination to ``segment``. A webhook gets a fresh secret (``destination.secret``: show it once).
    CRM actions run on enter only. Raises ValidationError keyed by field."""
    errors: dict[str, str] = {}
    if kind not in K.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(K.values)}."})
    if segment.mode == Segment.Mode.STATIC:
        raise ValidationError({"segment": "A frozen list does not change: nobody enters or leaves it."})
    if kind == K.WEBHOOK:
        problem = url_problem(url or "") if url else "Enter the URL to call."
        if problem:
            errors["url"] = problem
        elif len(url) > 2000:
            errors["url"] = "The URL is too long."
        if not (on_enter or on_exit):
            errors["on_enter"] = "Call the webhook on enter, on exit or both."
    else:
        on_enter, on_exit, url = True, False, ""
    try:
        clean_traits = _clean_traits(traits) if kind == K.WEBHOOK else []
    except ValidationError as exc:
        errors.update(exc.message_dict)
        clean_traits = []
    try:
        clean_config = _clean_config(kind, config)
    except ValidationError as exc:
        errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
        clean_config = {}
    if errors:
        raise ValidationError(errors)
    name = (name or "").strip()[:120] or (url[:120] if kind == K.WEBHOOK else K(kind).label)
    return Destination.objects.create(
        segment=segment, kind=kind, name=name, url=url, on_enter=on_enter, on_exit=on_exit, traits=clean_traits,
        config=clean_config, secret=secret_new() if kind == K.WEBHOOK else "", created_by=by)


def destination_update(*, destination: Destination, name: str | None = None, url: str | None = None,
                       on_enter: bool | None = None, on_exit: bool | None = None, enabled: bool | None = None,
                       traits: Any = None, config: Any = None) -> Destination:
    """Change a destination's settings (what is not given stays). Raises ValidationError keyed by field."""
    d = destination
    if url is not None and d.is_webhook:
        problem = url_problem(url) if url else "Enter the URL to call."
        if problem:
            raise ValidationError({"url": problem})
        d.url = url
    if name is not None and name.strip():
        d.name = name.strip()[:120]
    if d.is_webhook:
        d.on_enter = d.on_enter if on_enter is None else on_enter
        d.on_exit = d.on_exit if on_exit is None else on_exit
        if not (d.on_enter or d.on_exit):
            raise ValidationError({"on_enter": "Call the webhook on enter, on exit or both."})
        if traits is not None:
            d.traits = _clean_traits(traits)
    elif config is not None:
        d.config = _clean_config(d.kind, config)
    if enabled is not None:
        d.enabled = enabled
    d.save()
    return d


def destination_rotate_secret(*, destination: Destination, grace: dt.timedelta | None = None) -> str:
    """Give the webhook a new secret and return it (show it once). The old one is still signed with, next to the
    new one, for ``grace`` (SEGMENTS_WEBHOOK_SECRET_GRACE_HOURS) so receivers can switch without losing calls."""
    if not destination.is_webhook:
        raise ValidationError({"kind": "Only webhooks have a secret."})
    grace = grace if grace is not None else dt.timedelta(hours=settings.SEGMENTS_WEBHOOK_SECRET_GRACE_HOURS)
    destination.previous_secret = destination.secret
    destination.previous_secret_until = timezone.now() + grace
    destination.secret = secret_new()
    destination.save(update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"])
    return destination.secret


def destination_delete(*, destination: Destination) -> None:
    destination.delete()


# --- recording entries and exits (inside the refresh transaction) -----------------------------------------------

def activation_record(*, segment_id: int, at: dt.datetime, entered: bool, exited: bool) -> None:
    """Record a delivery per (webhook, membership that began or ended at ``at``) and an action run per (CRM action,
    membership that began at ``at``), in set-based INSERTs, and queue their work after commit.

    Caller holds the segment's refresh lock in the transaction that changed the memberships: the rows commit or
    roll back with the memberships, and nothing is sent while the lock is held. Unique constraints make a
    second call for the same moment a no-op."""
    kinds = set(Destination.objects.filter(segment_id=segment_id, enabled=True).values_list("kind", "on_enter",
                                                                                            "on_exit"))
    if not kinds:
        return
    now = timezone.now()
    m, d = Membership._meta.db_table, Destination._meta.db_table
    params = {"segment_id": segment_id, "at": at, "now": now}
    queued_deliveries = queued_runs = 0
    with connection.cursor() as cur:
        for event, column, flag, wanted in (("entered", "entered_at", "on_enter", entered),
                                            ("exited", "exited_at", "on_exit", exited)):
            if not wanted or not any(k == K.WEBHOOK and (on_enter if flag == "on_enter" else on_exit)
                                     for k, on_enter, on_exit in kinds):
                continue
            cur.execute(f"""
                INSERT INTO {Delivery._meta.db_table} (delivery_id, destination_id, membership_id, profile_id, event,
                       occurred_at, status, attempts, next_attempt_at, body, last_error, created_at)
                SELECT gen_random_uuid(), d.id, m.id, m.profile_id, '{event}', m.{column}, 'pending', 0, %(now)s,
                       '', '', %(now)s
                  FROM {m} m JOIN {d} d ON d.segment_id = m.segment_id AND d.kind = 'webhook' AND d.enabled
                                         AND d.{flag}
                 WHERE m.segment_id = %(segment_id)s AND m.{column} = %(at)s
                ON CONFLICT (destination_id, membership_id, event) DO NOTHING""", params)
            queued_deliveries += cur.rowcount
        if entered and any(k in CRM_KINDS for k, _, _ in kinds):
            cur.execute(f"""
                INSERT INTO {ActionRun._meta.db_table} (destination_id, membership_id, profile_id, status, detail,
                       attempts, created_at)
                SELECT d.id, m.id, m.profile_id, 'pending', '', 0, %(now)s
                  FROM {m} m JOIN {d} d ON d.segment_id = m.segment_id AND d.kind <> 'webhook' AND d.enabled
                 WHERE m.segment_id = %(segment_id)s AND m.entered_at = %(at)s
                ON CONFLICT (destination_id, membership_id) DO NOTHING""", params)
            queued_runs += cur.rowcount
    if queued_deliveries:
        deliveries_queue_sending(count=queued_deliveries)
    if queued_runs:
        enqueue_on_commit("segments.tasks.run_actions", segment_id)


def deliveries_queue_sending(*, count: int) -> None:
    """After commit, queue enough sending tasks for ``count`` new deliveries: one per batch, at most
    SEGMENTS_WEBHOOK_TASKS (each task claims batch after batch until nothing is due, so a few tasks in parallel
    workers share a large entry)."""
    batches = -(-count // max(1, settings.SEGMENTS_WEBHOOK_BATCH))
    for _ in range(max(1, min(batches, settings.SEGMENTS_WEBHOOK_TASKS))):
        enqueue_on_commit("segments.tasks.send_deliveries")


# --- the dead-letter list -----------------------------------------------------------------------------------

def _replay(queryset) -> int:
    with transaction.atomic():
        count = queryset.filter(status__in=[Delivery.Status.DEAD, Delivery.Status.DISCARDED]).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), dead_at=None)
        if count:
            deliveries_queue_sending(count=count)
    return count


def deliveries_replay(*, delivery_ids: Iterable[int]) -> int:
    """Send dead (or discarded) deliveries again, with the same delivery id and body and a fresh retry budget;
    returns how many were queued. Delivered ones are left alone."""
    return _replay(Delivery.objects.filter(pk__in=list(delivery_ids)))


def deliveries_replay_dead(*, segment_id: int | None = None, destination_id: int | None = None) -> int:
    """Replay the whole dead-letter list (of one segment or one destination if given) in one UPDATE; returns how
    many were queued. Discarded deliveries stay discarded."""
    qs = Delivery.objects.filter(status=Delivery.Status.DEAD)
    if segment_id is not None:
        qs = qs.filter(destination__segment_id=segment_id)
    if destination_id is not None:
        qs = qs.filter(destination_id=destination_id)
    return _replay(qs)


def deliveries_discard(*, delivery_ids: Iterable[int]) -> int:
    """Take dead deliveries off the dead-letter list without sending them; returns how many."""
    return Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.DEAD).update(
        status=Delivery.Status.DISCARDED)
