"""Locks of identity resolution: what a batch holds while it resolves, and what it leaves for later.

Blocking mode (:func:`acquire_all`): transaction-scoped advisory locks on a hash of every (type, value) the
events carry, in sorted order, then row locks on the profiles owning them (in id order, re-reading until the
owners are stable). Two batches that share an identifier or a profile serialize; any writer of a profile's
identifiers holds that profile's row lock, so identifiers read under the locks cannot change underneath.

Non-blocking mode (:func:`acquire_free`): the batch takes only what is free (``pg_try_advisory_xact_lock``,
``FOR UPDATE SKIP LOCKED``) and defers every event linked, through the batch's own identifiers, to an
identifier or profile another transaction holds. Consecutive batches of a live stream share a few people out
of a thousand: the rest of each batch is resolved alongside the other worker instead of queueing behind its
whole batch, and the deferred events are resolved right after in blocking mode (cdp.services.identity_batches).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cdp.services.identity_rules import Ident
from config.db import from_json, ints, to_json


@dataclass(slots=True)
class ProfileRow:
    id: int
    traits: dict
    trait_times: dict
    computed: dict
    computed_state: dict
    account_id: int | None
    crm_contact_id: int | None = None
    dirty: bool = False


@dataclass
class Acquired:
    """What a batch may resolve now: its events, the owners of their identifiers, the locked owning profiles."""

    events: list
    owners: dict[Ident, tuple[int, int]]  # (type, value) → (identifier id, profile id)
    profiles: dict[int, ProfileRow]
    deferred: list = field(default_factory=list)


def lock_key(ident: Ident) -> int:
    """The advisory-lock key of an identifier: 64 bits from two checksums (fast; stable across processes). Two
    identifiers sharing a key would only make their batches take turns."""
    data = f"{ident[0]}\x00{ident[1]}".encode()
    return (zlib.crc32(data) << 32 | zlib.adler32(data)) - (1 << 63)


def advisory_lock(cur, idents: set[Ident]) -> None:
    """Wait for the advisory locks of ``idents`` (in key order, so two lockers never deadlock on them)."""
    keys = sorted({lock_key(i) for i in idents})
    if keys:
        cur.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, n)",
                    [ints(keys)])


def _advisory_try_lock(cur, idents: list[Ident]) -> set[Ident]:
    """Take the free advisory locks of ``idents`` without waiting; returns the identifiers held elsewhere."""
    by_key: dict[int, list[Ident]] = {}
    for ident in idents:
        by_key.setdefault(lock_key(ident), []).append(ident)
    if not by_key:
        return set()
    cur.execute("SELECT k FROM unnest(%s::bigint[]) AS t(k) WHERE NOT pg_try_advisory_xact_lock(k)",
                [ints(sorted(by_key))])
    return {ident for (key,) in cur.fetchall() for ident in by_key[key]}


def owners_read(cur, idents: list[Ident]) -> dict[Ident, tuple[int, int]]:
    """(type, value) → (identifier id, profile id) for those that exist."""
    if not idents:
        return {}
    cur.execute(
        """
        SELECT i.type, i.value, i.id, i.profile_id
          FROM cdp_identifier i
          JOIN jsonb_to_recordset(%s::jsonb) AS q(t text, v text) ON i.type = q.t AND i.value = q.v
        """,
        [to_json([{"t": t, "v": v} for t, v in idents])],
    )
    return {(t, v): (iid, pid) for t, v, iid, pid in cur.fetchall()}


def _owners_moved(cur, owners: dict[Ident, tuple[int, int]]) -> set[Ident]:
    """Those of ``owners`` that changed profile (or vanished) since they were read: a check by primary key.

    Identifiers of the batch cannot appear meanwhile (creating one takes its advisory lock, which the batch
    holds); only a merge or split of their profile, by a holder of that profile's row lock, moves them."""
    if not owners:
        return set()
    cur.execute(
        "SELECT q.id FROM unnest(%s::bigint[], %s::bigint[]) AS q(id, p) "
        "WHERE NOT EXISTS (SELECT 1 FROM cdp_identifier i WHERE i.id = q.id AND i.profile_id = q.p)",
        [ints(iid for iid, _ in owners.values()), ints(pid for _, pid in owners.values())],
    )
    moved = {iid for (iid,) in cur.fetchall()}
    return {ident for ident, (iid, _) in owners.items() if iid in moved}


def profiles_lock(cur, pids: set[int], *, skip_locked: bool = False) -> dict[int, ProfileRow]:
    """Lock and read the profile rows ``pids`` in id order; with ``skip_locked``, only those free now."""
    if not pids:
        return {}
    cur.execute(
        f"""
        SELECT id, traits::text, trait_times::text, computed::text, computed_state::text, account_id, crm_contact_id
          FROM cdp_profile WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE {"SKIP LOCKED" if skip_locked else ""}
        """,
        [ints(sorted(pids))],
    )
    return {
        pid: ProfileRow(pid, from_json(traits), from_json(times), from_json(computed), from_json(state), account_id,
                        crm_id)
        for pid, traits, times, computed, state, account_id, crm_id in cur.fetchall()
    }


def type_counts(cur, pids: set[int]) -> dict[int, Counter]:
    """Per profile, how many identifiers of each type it holds."""
    counts: dict[int, Counter] = {pid: Counter() for pid in pids}
    if pids:
        cur.execute(
            "SELECT profile_id, type, count(*) FROM cdp_identifier WHERE profile_id = ANY(%s::bigint[]) GROUP BY 1, 2",
            [ints(sorted(pids))],
        )
        for pid, type_, n in cur.fetchall():
            counts[pid][type_] = n
    return counts


def acquire_all(cur, events: list) -> Acquired:
    """Blocking mode: wait for every identifier and owning profile of ``events``."""
    idents = sorted({i for e in events for i in e.ids})
    advisory_lock(cur, set(idents))
    # Owners may move (a merge by another worker) until their profile rows are locked: re-read until stable.
    owners = owners_read(cur, idents)
    for _ in range(20):
        profiles = profiles_lock(cur, {pid for _, pid in owners.values()})
        if not _owners_moved(cur, owners):
            break
        owners = owners_read(cur, idents)
    return Acquired(events=events, owners=owners, profiles=profiles)


def acquire_free(cur, events: list) -> Acquired:
    """Non-blocking mode: lock what is free and defer the events connected to anything held elsewhere."""
    idents = sorted({i for e in events for i in e.ids})
    busy = _advisory_try_lock(cur, idents)
    events, deferred = _split(events, busy)
    idents = sorted({i for e in events for i in e.ids})
    owners = owners_read(cur, idents)
    wanted = {pid for _, pid in owners.values()}
    profiles = profiles_lock(cur, wanted, skip_locked=True)
    held = {o: (iid, pid) for o, (iid, pid) in owners.items() if pid in profiles}
    busy = {i for i, (_, pid) in owners.items() if pid not in profiles} | _owners_moved(cur, held)
    if busy:
        events, more = _split(events, busy)
        deferred += more
        idents = {i for e in events for i in e.ids}
        owners = {i: o for i, o in owners.items() if i in idents}
        owning = {pid for _, pid in owners.values()}
        profiles = {pid: row for pid, row in profiles.items() if pid in owning}
    return Acquired(events=events, owners=owners, profiles=profiles, deferred=deferred)


def _split(events: list, busy: set[Ident]) -> tuple[list, list]:
    """(events unconnected to ``busy``, events connected to it through shared identifiers), order kept."""
    if not busy:
        return events, []
    parent: dict[Any, Any] = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for e in events:
        for ident in e.ids[1:]:
            a, b = find(e.ids[0]), find(ident)
            if a != b:
                parent[a] = b
    blocked = {find(i) for i in busy}
    now, later = [], []
    for e in events:
        (later if e.ids and find(e.ids[0]) in blocked else now).append(e)
    return now, later
