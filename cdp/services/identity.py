"""Identity resolution of one ingest batch: identifiers → profiles, merges, traits, computed traits.

Set-based: a handful of queries per batch whatever its size. Preconditions of :func:`identity_process_events`:
the caller holds a transaction (one per batch, so a killed worker leaves nothing half-done) and the batch row
lock (so one batch is never processed twice at once).

Concurrency between workers: before reading, the batch takes transaction-scoped advisory locks on a hash of
every (type, value) it carries, in sorted order, then row locks on the profiles owning them (in id order,
re-reading until the owners are stable). Two batches that share an identifier or a profile therefore
serialize; batches that do not touch each other run in parallel. Any writer of a profile's identifiers holds
that profile's row lock, so identifiers read under the locks cannot change underneath.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg.errors import DeadlockDetected

from cdp.extensions import profiles_changed_listeners
from cdp.models import RefusedMerge
from cdp.services import computed_traits as ct
from cdp.services.identity_graph import BatchGraph
from cdp.services.identity_rules import Ident, IdentityRules, identity_rules_load, message_identifiers
from cdp.services.traits import group_traits, message_traits, time_key, traits_apply, traits_merge


@dataclass
class EventRow:
    id: int
    type: str
    message_id: str
    at: datetime
    payload: dict[str, Any]
    profile_id: int | None
    source_kind: str
    ids: list[Ident] = field(default_factory=list)
    received_at: datetime | None = None


@dataclass
class ProfileRow:
    id: int
    traits: dict
    trait_times: dict
    computed: dict
    computed_state: dict
    account_id: int | None
    crm_contact_id: int | None = None
    dirty: bool = False


def _ints(values) -> str:
    """A Postgres array literal of integers (much cheaper to send than an adapted Python list)."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def _json(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. integers beyond 64 bits in a trait
        return json.dumps(value, default=str)


def lock_key(ident: Ident) -> int:
    digest = hashlib.blake2b(f"{ident[0]}\x00{ident[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _advisory_lock(cur, idents: set[Ident]) -> None:
    keys = sorted({lock_key(i) for i in idents})
    if keys:
        cur.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, n)",
                    [_ints(keys)])


def _owners(cur, idents: list[Ident]) -> dict[Ident, tuple[int, int]]:
    """(type, value) → (identifier id, profile id) for those that exist."""
    if not idents:
        return {}
    cur.execute(
        """
        SELECT i.type, i.value, i.id, i.profile_id
          FROM cdp_identifier i
          JOIN jsonb_to_recordset(%s::jsonb) AS q(t text, v text) ON i.type = q.t AND i.value = q.v
        """,
        [_json([{"t": t, "v": v} for t, v in idents])],
    )
    return {(t, v): (iid, pid) for t, v, iid, pid in cur.fetchall()}


def _lock_profiles(cur, pids: set[int]) -> dict[int, ProfileRow]:
    if not pids:
        return {}
    cur.execute(
        """
        SELECT id, traits::text, trait_times::text, computed::text, computed_state::text, account_id, crm_contact_id
          FROM cdp_profile WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE
        """,
        [_ints(sorted(pids))],
    )
    rows = {}
    for pid, traits, times, computed, state, account_id, crm_id in cur.fetchall():
        rows[pid] = ProfileRow(pid, _j(traits), _j(times), _j(computed), _j(state), account_id, crm_id)
    return rows


def _j(value):
    return orjson.loads(value) if isinstance(value, str) else (value or {})


def _type_counts(cur, pids: set[int]) -> dict[int, Counter]:
    counts: dict[int, Counter] = {pid: Counter() for pid in pids}
    if pids:
        cur.execute(
            "SELECT profile_id, type, count(*) FROM cdp_identifier WHERE profile_id = ANY(%s::bigint[]) GROUP BY 1, 2",
            [_ints(sorted(pids))],
        )
        for pid, type_, n in cur.fetchall():
            counts[pid][type_] = n
    return counts


def _crm_contacts_by_email(emails: set[str]) -> dict[str, int]:
    from cdp.selectors.profiles import crm_contact_ids_by_email

    return crm_contact_ids_by_email(emails=emails)


@dataclass
class BatchOutcome:
    events: int = 0
    profiles_created: int = 0
    merges: int = 0
    refusals: int = 0
    touched_profiles: list[int] = field(default_factory=list)
    new_profiles: list[int] = field(default_factory=list)


def identity_process_events(*, events: list[EventRow], rules: IdentityRules | None = None,
                            defns: list | None = None) -> BatchOutcome:
    """Resolve ``events`` (one batch) and write profiles, identifiers, merges, traits, computed traits and
    RawEvent.profile_id. Caller holds the transaction and the batch lock. Idempotent for already-resolved events:
    their identifiers exist, traits carry their event times and computed traits only count events whose
    profile_id was empty."""
    rules = rules or identity_rules_load()
    defns = ct.definitions_enabled() if defns is None else defns
    outcome = BatchOutcome(events=len(events))
    if not events:
        return outcome
    events.sort(key=lambda e: (e.at, e.id))
    for e in events:
        e.ids = message_identifiers(e.payload, rules=rules, source_kind=e.source_kind)
    if rules.link_crm_by_email:
        by_email = _crm_contacts_by_email({v for e in events for t, v in e.ids if t == "email"})
        for e in events:
            extra = [("crm_contact_id", str(by_email[v])) for t, v in e.ids if t == "email" and v in by_email]
            if extra and not any(t == "crm_contact_id" for t, _ in e.ids):
                e.ids = sorted(set(e.ids) | {extra[0]}, key=lambda i: (rules.rank(i[0]), i[0], i[1]))
    all_ids = sorted({i for e in events for i in e.ids})

    with connection.cursor() as cur:
        _advisory_lock(cur, set(all_ids))
        # Owners may move (a merge by another worker) until their profile rows are locked: re-read until stable.
        for _ in range(20):
            owners = _owners(cur, all_ids)
            profiles = _lock_profiles(cur, {pid for _, pid in owners.values()})
            again = _owners(cur, all_ids)
            if again == owners:
                break
        counts = _type_counts(cur, set(profiles))
        graph = BatchGraph(rules=rules, owners={i: pid for i, (_, pid) in owners.items()}, counts=counts)

        resolved: list[int | None] = []
        for e in events:
            resolved.append(graph.resolve(e.ids, event_id=e.id, message_id=e.message_id,
                                          explicit=e.type == "alias"))

        # --- allocate real ids for the new profiles ----------------------------------------------------
        temp = graph.new_profiles()
        real: dict[int, int] = {}
        if temp:
            cur.execute("SELECT nextval(pg_get_serial_sequence('cdp_profile', 'id')) FROM generate_series(1, %s)",
                        [len(temp)])
            for key, (pid,) in zip(temp, cur.fetchall(), strict=True):
                real[key] = pid
        for key in temp:
            profiles[real[key]] = ProfileRow(real[key], {}, {}, {}, {}, None, dirty=True)

        def rid(key: int) -> int:
            return real.get(key, key)

        def final(key: int) -> int:
            return rid(graph.find(key))

        # --- traits and computed traits, in event time order -------------------------------------------
        # Merges happen in message order, so fold each merged profile's traits/state into its survivor first.
        merged_map = {rid(m.merged): final(m.merged) for m in graph.merges}
        for merged_pid in sorted(merged_map, key=lambda p: (p < 0, p)):
            survivor = profiles[merged_map[merged_pid]]
            loser = profiles[merged_pid]
            traits_merge(survivor.traits, survivor.trait_times, loser.traits, loser.trait_times)
            survivor.computed_state = ct.state_merge(survivor.computed_state, loser.computed_state)
            if survivor.account_id is None and loser.account_id is not None:
                survivor.account_id = loser.account_id
            survivor.dirty = True

        group_updates: dict[str, list[tuple[str, dict]]] = {}
        group_of_profile: dict[int, tuple[str, str]] = {}
        event_profile: list[tuple[EventRow, int]] = []
        for e, key in zip(events, resolved, strict=True):
            if key is None:
                continue
            pid = final(key)
            row = profiles[pid]
            at = time_key(e.at)
            event_profile.append((e, pid))
            traits = message_traits(e.type, e.payload)
            if traits and traits_apply(row.traits, row.trait_times, traits, at):
                row.dirty = True
            if e.type == "group":
                gid = str(e.payload.get("groupId") or "").strip()
                if gid:
                    group_updates.setdefault(gid, []).append((at, group_traits(e.payload)))
                    if group_of_profile.get(pid, ("",))[0] <= at:
                        group_of_profile[pid] = (at, gid)
            if e.profile_id is None and defns:
                for d in defns:
                    state = row.computed_state.setdefault(d.key, {})
                    if ct.state_add(d, state, e.type, e.payload, e.at):
                        row.dirty = True

        now = timezone.now()
        survivors = {pid for pid, row in profiles.items() if row.dirty and pid not in merged_map}
        if defns:
            for pid in survivors:
                row = profiles[pid]
                for d in defns:
                    if d.key in row.computed_state:
                        ct.state_prune(d, row.computed_state[d.key], now=now)
                row.computed = {**row.computed, **ct.values_for(defns, row.computed_state, now=now)}

        # --- accounts (group calls) --------------------------------------------------------------------
        account_ids: dict[str, int] = {}
        if group_updates:
            account_ids = _accounts_upsert(cur, group_updates)
            for pid, (_, gid) in group_of_profile.items():
                row = profiles[pid]
                if row.account_id != account_ids[gid]:
                    row.account_id = account_ids[gid]
                    row.dirty = True
                    survivors.add(pid)

        # --- write profiles ----------------------------------------------------------------------------
        new_rows = [
            {"id": real[k], "merged_into_id": final(k) if graph.find(k) != k else None,
             "traits": profiles[real[k]].traits, "trait_times": profiles[real[k]].trait_times,
             "computed": profiles[real[k]].computed, "computed_state": profiles[real[k]].computed_state,
             "account_id": profiles[real[k]].account_id}
            for k in temp
        ]
        if new_rows:
            cur.execute(
                """
                INSERT INTO cdp_profile (id, created_at, updated_at, merged_into_id, traits, trait_times, computed,
                                         computed_state, account_id)
                SELECT v.id, %s, %s, v.merged_into_id, v.traits, v.trait_times, v.computed, v.computed_state,
                       v.account_id
                  FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, merged_into_id bigint, traits jsonb,
                       trait_times jsonb, computed jsonb, computed_state jsonb, account_id bigint)
                """,
                [now, now, _json(new_rows)],
            )
        new_ids = set(real.values())
        upd = [
            {"id": pid, "traits": profiles[pid].traits, "trait_times": profiles[pid].trait_times,
             "computed": profiles[pid].computed, "computed_state": profiles[pid].computed_state,
             "account_id": profiles[pid].account_id}
            for pid in sorted(survivors - new_ids)
        ]
        if upd:
            cur.execute(
                """
                UPDATE cdp_profile p
                   SET traits = v.traits, trait_times = v.trait_times, computed = v.computed,
                       computed_state = v.computed_state, account_id = v.account_id, updated_at = %s
                  FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, traits jsonb, trait_times jsonb,
                       computed jsonb, computed_state jsonb, account_id bigint)
                 WHERE p.id = v.id
                """,
                [now, _json(upd)],
            )
        existing_merged = {m: s for m, s in merged_map.items() if m not in new_ids}
        if existing_merged:
            # ``col = ANY(merged)`` next to the join condition gives Postgres an index condition even when its
            # statistics are stale (e.g. analysed while profile_id was still empty), instead of a filtered scan
            # of the whole index.
            merged_arr = _ints(sorted(existing_merged))
            pairs = [merged_arr, _ints(existing_merged[m] for m in sorted(existing_merged))]
            cur.execute(
                """
                UPDATE cdp_profile p SET merged_into_id = m.s, updated_at = %s
                  FROM unnest(%s::bigint[], %s::bigint[]) AS m(m, s)
                 WHERE p.id = m.m AND p.id = ANY(%s::bigint[])
                """,
                [now, *pairs, merged_arr],
            )
            cur.execute(
                """
                UPDATE cdp_profile p SET merged_into_id = m.s
                  FROM unnest(%s::bigint[], %s::bigint[]) AS m(m, s)
                 WHERE p.merged_into_id = m.m AND p.merged_into_id = ANY(%s::bigint[])
                """,
                [*pairs, merged_arr],
            )
            # Every identifier and event of a merged profile goes to its survivor.
            cur.execute(
                """
                UPDATE cdp_identifier i SET profile_id = m.s
                  FROM unnest(%s::bigint[], %s::bigint[]) AS m(m, s)
                 WHERE i.profile_id = m.m AND i.profile_id = ANY(%s::bigint[])
                """,
                [*pairs, merged_arr],
            )
            cur.execute(
                """
                UPDATE cdp_rawevent e SET profile_id = m.s
                  FROM unnest(%s::bigint[], %s::bigint[]) AS m(m, s)
                 WHERE e.profile_id = m.m AND e.profile_id = ANY(%s::bigint[])
                """,
                [*pairs, merged_arr],
            )

        # --- identifiers -------------------------------------------------------------------------------
        finals = graph.final_owners()
        moved = [(owners[i][0], rid(k)) for i, k in finals.items()
                 if i in owners and rid(k) != owners[i][1] and rid(k) != existing_merged.get(owners[i][1])]
        if moved:
            cur.execute(
                """
                UPDATE cdp_identifier i SET profile_id = m.p
                  FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, p) WHERE i.id = m.id
                """,
                [_ints(a for a, _ in moved), _ints(b for _, b in moved)],
            )
        created = [(t, v, rid(k)) for (t, v), k in finals.items() if (t, v) not in owners]
        if created:
            cur.execute(
                """
                INSERT INTO cdp_identifier (type, value, profile_id, created_at)
                SELECT t, v, p, %s FROM jsonb_to_recordset(%s::jsonb) AS q(t text, v text, p bigint)
                ON CONFLICT (type, value) DO NOTHING
                """,
                [now, _json([{"t": t, "v": v, "p": p} for t, v, p in created])],
            )

        # --- CRM contact link follows the crm_contact_id identifier ------------------------------------
        touched = sorted(set(profiles))
        if any(t == "crm_contact_id" for t, _ in all_ids) or any(
                profiles[m].crm_contact_id for m in existing_merged):
            cur.execute(
                """
                UPDATE cdp_profile p SET crm_contact_id = NULL
                 WHERE p.id = ANY(%s::bigint[]) AND p.crm_contact_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM cdp_identifier i WHERE i.profile_id = p.id
                                   AND i.type = 'crm_contact_id' AND i.value = p.crm_contact_id::text)
                """,
                [_ints(touched)],
            )
            cur.execute(
                """
                UPDATE cdp_profile p SET crm_contact_id = i.value::bigint
                  FROM cdp_identifier i
                 WHERE p.id = ANY(%s::bigint[]) AND i.profile_id = p.id AND i.type = 'crm_contact_id'
                   AND i.value ~ '^[0-9]+$' AND p.crm_contact_id IS DISTINCT FROM i.value::bigint
                """,
                [_ints(touched)],
            )

        # --- events ------------------------------------------------------------------------------------
        changes = [(e.id, pid) for e, pid in event_profile if e.profile_id != pid]
        if changes:
            received = {e.received_at for e, _ in event_profile}
            # One batch has one received_at: naming it lets Postgres touch only that day's partition.
            prune = "AND e.received_at = %s" if len(received) == 1 and None not in received else ""
            cur.execute(
                f"""
                UPDATE cdp_rawevent e SET profile_id = m.p
                  FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, p) WHERE e.id = m.id {prune}
                """,
                [_ints(a for a, _ in changes), _ints(b for _, b in changes), *([received.pop()] if prune else [])],
            )

    # --- audit ----------------------------------------------------------------------------------------
    if graph.merges:
        with connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO cdp_profilemerge (survivor_id, merged_id, event_id, message_id, identifiers, at)
                SELECT s, m, e, mid, ids, %s
                  FROM jsonb_to_recordset(%s::jsonb) AS v(s bigint, m bigint, e bigint, mid text, ids jsonb)
                """,
                [now, _json([{"s": final(m.survivor), "m": rid(m.merged), "e": m.event_id, "mid": m.message_id,
                              "ids": [list(i) for i in m.identifiers]} for m in graph.merges])],
            )
    if graph.refusals:
        RefusedMerge.objects.bulk_create([
            RefusedMerge(profile_id=final(r.profile), other_profile_id=final(r.other) if r.other is not None else None,
                         event_id=r.event_id, message_id=r.message_id, dropped_type=r.dropped[0],
                         dropped_value=r.dropped[1][:512], reason=r.reason[:255], handed_over=r.handed_over)
            for r in graph.refusals
        ])
    outcome.profiles_created = len(temp)
    outcome.new_profiles = sorted(real[k] for k in temp if graph.find(k) == k)
    outcome.merges = len(graph.merges)
    outcome.refusals = len(graph.refusals)
    outcome.touched_profiles = sorted({pid for _, pid in event_profile} | survivors)
    return outcome


def _accounts_upsert(cur, updates: dict[str, list[tuple[str, dict]]]) -> dict[str, int]:
    """Create missing accounts and merge group traits by time; returns group_id → account id."""
    gids = sorted(updates)
    cur.execute(
        """
        INSERT INTO cdp_account (group_id, traits, trait_times, created_at)
        SELECT g, '{}'::jsonb, '{}'::jsonb, now() FROM unnest(%s::text[]) AS g
        ON CONFLICT (group_id) DO NOTHING
        """,
        [gids],
    )
    cur.execute("SELECT group_id, id, traits, trait_times FROM cdp_account WHERE group_id = ANY(%s) "
                "ORDER BY id FOR UPDATE", [gids])
    ids: dict[str, int] = {}
    rows = []
    for gid, aid, traits, times in cur.fetchall():
        ids[gid] = aid
        traits, times = _j(traits), _j(times)
        changed = False
        for at, new in updates[gid]:  # in event time order
            changed = traits_apply(traits, times, new, at) or changed
        if changed:
            rows.append({"id": aid, "traits": traits, "trait_times": times})
    if rows:
        cur.execute(
            """
            UPDATE cdp_account a SET traits = v.traits, trait_times = v.trait_times
              FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, traits jsonb, trait_times jsonb) WHERE a.id = v.id
            """,
            [_json(rows)],
        )
    return ids


def _events_of_batch(batch_id: int, source_kind: str) -> list[EventRow]:
    """The batch's events; payloads decoded with orjson (the hot path of a batch)."""
    with connection.cursor() as cur:
        cur.execute(
            'SELECT id, type, message_id, "timestamp", payload::text, profile_id, received_at '
            "FROM cdp_rawevent WHERE batch_id = %s",
            [batch_id],
        )
        return [EventRow(i, t, m, at, orjson.loads(p), pid, source_kind, received_at=r)
                for i, t, m, at, p, pid, r in cur.fetchall()]


def identity_batch_process(*, batch_id: int, max_attempts: int = 6) -> BatchOutcome | None:
    """Resolve one ingest batch in one transaction and mark it processed; None if unknown or already processed.

    A deadlock between two workers whose batches overlap (Postgres aborts one of them) is retried from scratch.
    """
    for attempt in range(max_attempts):
        try:
            with transaction.atomic():
                outcome = _batch_process_locked(batch_id)
            break
        except OperationalError as exc:
            if not isinstance(exc.__cause__, DeadlockDetected) or attempt == max_attempts - 1:
                raise
    else:  # pragma: no cover - the loop either breaks or raises
        return None
    if outcome and outcome.touched_profiles:
        for listener in profiles_changed_listeners():
            listener(outcome.touched_profiles)
    return outcome


def _batch_process_locked(batch_id: int) -> BatchOutcome | None:
    from cdp.models import IngestBatch

    # Lock the batch row only: locking the joined source row too would serialize every batch of a source.
    batch = IngestBatch.objects.select_for_update(of=("self",)).select_related("source").filter(pk=batch_id).first()
    if batch is None or batch.processed_at is not None:
        return None
    outcome = identity_process_events(events=_events_of_batch(batch_id, batch.source.kind))
    if outcome.new_profiles and (batch.source.settings or {}).get("create_crm_lead"):
        from cdp.services.identity_crm import crm_leads_create

        crm_leads_create(source=batch.source, profile_ids=outcome.new_profiles)
    IngestBatch.objects.filter(pk=batch_id).update(processed_at=timezone.now(), attempts=F("attempts") + 1)
    return outcome
