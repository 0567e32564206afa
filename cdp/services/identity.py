"""Identity resolution of a set of events: identifiers → profiles, merges, traits, computed traits.

Set-based: a handful of queries per batch whatever its size. Preconditions of :func:`identity_process_events`:
the caller holds a transaction (so a killed worker leaves nothing half-done) and the row locks of the events'
batches (so no batch is processed twice at once); cdp.services.identity_batches is that caller.

Concurrency between workers: see cdp.services.identity_locks (what a pass locks, what it defers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from cdp.models import RefusedMerge
from cdp.services import computed_traits as ct
from cdp.services.identity_crm import crm_links_follow, is_crm_merge
from cdp.services.identity_graph import BatchGraph
from cdp.services.identity_locks import ProfileRow, acquire_all, acquire_free, type_counts
from cdp.services.identity_rules import (
    Ident,
    IdentityRules,
    alias_pair,
    alias_resolve,
    identity_rules_load,
    is_account_message,
    message_identifiers,
)
from cdp.services.traits import group_traits, message_traits, traits_apply, traits_merge
from config.db import from_json, hot_cursor, ints, to_json


class EventRow:
    """One stored event being resolved. A plain slotted class: a batch builds thousands of them."""

    __slots__ = ("id", "type", "message_id", "time_key", "payload", "profile_id", "source_kind", "received_at",
                 "batch_id", "ids", "traits", "_at", "contact_keys")

    def __init__(self, id: int, type: str, message_id: str, time_key: str, payload: dict[str, Any],  # noqa: A002
                 profile_id: int | None, source_kind: str, received_at: datetime | None = None,
                 batch_id: int | None = None, contact_keys: bool = True):
        self.id, self.type, self.message_id, self.time_key = id, type, message_id, time_key
        self.payload, self.profile_id, self.source_kind = payload, profile_id, source_kind
        self.received_at, self.batch_id = received_at, batch_id
        self.contact_keys = contact_keys  # email/phone/external ids are merge keys (Source.asserts_identity)
        self.ids: list[Ident] = []
        self.traits: dict | None = None  # the traits the message sets
        self._at: datetime | None = None

    @property
    def at(self) -> datetime:
        """The event time; ``time_key`` is its UTC form as stored in trait_times (a datetime is rarely needed)."""
        if self._at is None:
            self._at = datetime.fromisoformat(self.time_key)
        return self._at


def _aliases_resolve(events: list[EventRow], owners: dict[Ident, Any]) -> bool:
    """Narrow each alias's previousId to the identifier that already exists, in the database (``owners``, read
    under the locks) or in an earlier event of this batch (events are in event-time order). Whether any alias
    was there."""
    if not any(e.type == "alias" for e in events):
        return False
    seen: set[Ident] = set()
    for e in events:
        if e.type == "alias":
            e.ids = alias_resolve(e.ids, e.payload, known=lambda i: i in owners or i in seen)
        seen.update(e.ids)
    return True


def _crm_contacts_by_email(emails: set[str]) -> dict[str, int]:
    from crm.selectors.contact_links import contact_ids_by_email

    return contact_ids_by_email(emails=emails)


@dataclass
class BatchOutcome:
    events: int = 0
    profiles_created: int = 0
    merges: int = 0
    refusals: int = 0
    touched_profiles: list[int] = field(default_factory=list)
    new_profiles: list[int] = field(default_factory=list)
    deferred: list[EventRow] = field(default_factory=list)  # left for a blocking pass (non-blocking mode)


@dataclass
class _Pass:
    """What one resolution pass knows, filled in phase by phase (each phase below reads and extends it).

    Profile keys from the graph are real ids for existing profiles and negative temporary ids for new ones;
    ``rid`` maps a key to its real id once allocated, ``final`` to the real id of its surviving profile."""

    events: list[EventRow]
    defns: list
    owners: dict[Ident, tuple[int, int]]  # (type, value) → (identifier id, profile id), read under the locks
    profiles: dict[int, ProfileRow]  # the locked profiles, then the new ones
    all_ids: list[Ident] = field(default_factory=list)
    graph: BatchGraph | None = None
    resolved: list[int | None] = field(default_factory=list)  # each event's profile key (None: no identifier)
    temp: list[int] = field(default_factory=list)  # the new profiles' temporary keys
    real: dict[int, int] = field(default_factory=dict)  # temporary key → allocated id
    merged_map: dict[int, int] = field(default_factory=dict)  # merged profile id → survivor id
    existing_merged: dict[int, int] = field(default_factory=dict)  # the same, for profiles that existed before
    event_profile: list[tuple[EventRow, int]] = field(default_factory=list)
    group_updates: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    group_of_profile: dict[int, tuple[str, str]] = field(default_factory=dict)
    survivors: set[int] = field(default_factory=set)  # changed surviving profiles to write
    now: datetime | None = None

    def rid(self, key: int) -> int:
        return self.real.get(key, key)

    def final(self, key: int) -> int:
        return self.rid(self.graph.find(key))


def identity_process_events(*, events: list[EventRow], rules: IdentityRules | None = None,
                            defns: list | None = None, wait: bool = True) -> BatchOutcome:
    """Resolve ``events`` (one batch) and write profiles, identifiers, merges, traits, computed traits and the
    events' profile links (EventProfile). Caller holds the transaction and the batch lock. Idempotent for
    already-resolved events: their identifiers exist, traits carry their event times and computed traits only
    count events that had no profile yet.

    ``wait=False`` resolves only the events that need no lock held by another transaction and returns the
    others in ``outcome.deferred`` (see cdp.services.identity_locks)."""
    rules = rules or identity_rules_load()
    defns = ct.definitions_enabled() if defns is None else defns
    outcome = BatchOutcome(events=len(events))
    if not events:
        return outcome
    _messages_read(events, rules)  # everything that depends on the message alone, before any lock is taken

    with hot_cursor() as cur:
        acquired = acquire_all(cur, events) if wait else acquire_free(cur, events)
        outcome.deferred = acquired.deferred
        outcome.events = len(acquired.events)
        if not acquired.events:
            return outcome
        state = _Pass(events=acquired.events, defns=defns, owners=acquired.owners, profiles=acquired.profiles)
        _graph_resolve(cur, state, rules)
        _profiles_allocate(cur, state)
        _merged_fold(state)
        _events_apply(state)
        _computed_values(state)
        _accounts_link(cur, state)
        _profiles_write(cur, state)
        _merges_write(cur, state)
        _identifiers_write(cur, state)
        _crm_links(cur, state)
        _event_links_write(cur, state)
    _audit_write(state)

    graph = state.graph
    outcome.profiles_created = len(state.temp)
    outcome.new_profiles = sorted(state.real[k] for k in state.temp if graph.find(k) == k)
    outcome.merges = len(graph.merges)
    outcome.refusals = len(graph.refusals)
    outcome.touched_profiles = sorted({pid for _, pid in state.event_profile} | state.survivors)
    return outcome


def _messages_read(events: list[EventRow], rules: IdentityRules) -> None:
    """Sort ``events`` by event time and read each one's identifiers and traits (plus the CRM contact of its
    email when the rules link by email)."""
    events.sort(key=lambda e: (e.time_key, e.id))
    for e in events:
        # An account's own message (a CRM company) names no person: it updates the account alone.
        e.ids = [] if is_account_message(e.payload) else message_identifiers(
            e.payload, rules=rules, source_kind=e.source_kind, contact_keys=e.contact_keys)
        e.traits = message_traits(e.type, e.payload)
    if rules.link_crm_by_email:
        by_email = _crm_contacts_by_email({v for e in events for t, v in e.ids if t == "email"})
        for e in events:
            extra = [("crm_contact_id", str(by_email[v])) for t, v in e.ids if t == "email" and v in by_email]
            if extra and not any(t == "crm_contact_id" for t, _ in e.ids):
                e.ids = sorted(set(e.ids) | {extra[0]}, key=lambda i: (rules.rank(i[0]), i[0], i[1]))


def _graph_resolve(cur, state: _Pass, rules: IdentityRules) -> None:
    """Narrow aliases to the identifiers that exist, then resolve every event to a profile key in the graph."""
    events, owners = state.events, state.owners
    state.all_ids = sorted({i for e in events for i in e.ids})
    if _aliases_resolve(events, owners):
        state.all_ids = sorted({i for e in events for i in e.ids})
        wanted = set(state.all_ids)
        state.owners = owners = {i: o for i, o in owners.items() if i in wanted}
    counts = type_counts(cur, set(state.profiles))
    state.graph = graph = BatchGraph(rules=rules, owners={i: pid for i, (_, pid) in owners.items()}, counts=counts)
    for e in events:
        # The CRM's merge of two contacts states identity explicitly: no limit refuses it. An alias does so
        # only for its userId/previousId pair; its other identifiers obey the limits.
        explicit = is_crm_merge(source_kind=e.source_kind, message=e.payload)
        pair = alias_pair(e.payload, e.ids) if e.type == "alias" and not explicit else None
        state.resolved.append(graph.resolve(e.ids, event_id=e.id, message_id=e.message_id, explicit=explicit,
                                            explicit_ids=pair))


def _profiles_allocate(cur, state: _Pass) -> None:
    """Allocate real ids for the new profiles and start an empty row for each."""
    state.temp = temp = state.graph.new_profiles()
    if temp:
        # The sequence is looked up once (an uncorrelated subquery), not for every value.
        cur.execute("SELECT nextval((SELECT pg_get_serial_sequence('cdp_profile', 'id')::regclass)) "
                    "FROM generate_series(1, %s)", [len(temp)])
        for key, (pid,) in zip(temp, cur.fetchall(), strict=True):
            state.real[key] = pid
    for key in temp:
        state.profiles[state.real[key]] = ProfileRow(state.real[key], {}, {}, {}, {}, None, dirty=True)


def _merged_fold(state: _Pass) -> None:
    """Fold each merged profile's traits, computed state and account into its survivor (merges happen in message
    order, so this comes before the events' own traits)."""
    profiles = state.profiles
    state.merged_map = {state.rid(m.merged): state.final(m.merged) for m in state.graph.merges}
    for merged_pid in sorted(state.merged_map, key=lambda p: (p < 0, p)):
        survivor = profiles[state.merged_map[merged_pid]]
        loser = profiles[merged_pid]
        traits_merge(survivor.traits, survivor.trait_times, loser.traits, loser.trait_times)
        survivor.computed_state = ct.state_merge(survivor.computed_state, loser.computed_state)
        if survivor.account_id is None and loser.account_id is not None:
            survivor.account_id = loser.account_id
        survivor.dirty = True


def _events_apply(state: _Pass) -> None:
    """Apply each event, in event time order, to its final profile: traits, group membership, computed state
    (only for events that had no profile yet, so a replay counts nothing twice)."""
    defns = state.defns
    for e, key in zip(state.events, state.resolved, strict=True):
        at = e.time_key
        gid = str(e.payload.get("groupId") or "").strip() if e.type == "group" else ""
        if gid:  # an account's own group call has no person (key None) but still sets its traits
            state.group_updates.setdefault(gid, []).append((at, group_traits(e.payload)))
        if key is None:
            continue
        pid = state.final(key)
        row = state.profiles[pid]
        state.event_profile.append((e, pid))
        if e.traits and traits_apply(row.traits, row.trait_times, e.traits, at):
            row.dirty = True
        if gid and state.group_of_profile.get(pid, ("",))[0] <= at:
            state.group_of_profile[pid] = (at, gid)
        if e.profile_id is None and defns:
            for d in defns:
                s = row.computed_state.setdefault(d.key, {})
                if ct.state_add(d, s, e.type, e.payload, e.time_key):
                    row.dirty = True


def _computed_values(state: _Pass) -> None:
    """Pick the changed surviving profiles and refresh their computed trait values."""
    state.now = now = timezone.now()
    state.survivors = {pid for pid, row in state.profiles.items() if row.dirty and pid not in state.merged_map}
    defns = state.defns
    if not defns:
        return
    for pid in state.survivors:
        row = state.profiles[pid]
        for d in defns:
            if d.key in row.computed_state:
                ct.state_prune(d, row.computed_state[d.key], now=now)
        row.computed = {**row.computed, **ct.values_for(defns, row.computed_state, now=now)}


def _accounts_link(cur, state: _Pass) -> None:
    """Upsert the accounts of group calls and point each profile at its latest group's account."""
    if not state.group_updates:
        return
    account_ids = _accounts_upsert(cur, state.group_updates)
    for pid, (_, gid) in state.group_of_profile.items():
        row = state.profiles[pid]
        if row.account_id != account_ids[gid]:
            row.account_id = account_ids[gid]
            row.dirty = True
            state.survivors.add(pid)


def _profiles_write(cur, state: _Pass) -> None:
    """Insert the new profiles (merged ones already pointing at their survivor) and update the changed ones."""
    profiles, real, now = state.profiles, state.real, state.now
    new_rows = [
        {"id": real[k], "merged_into_id": state.final(k) if state.graph.find(k) != k else None,
         "traits": profiles[real[k]].traits, "trait_times": profiles[real[k]].trait_times,
         "computed": profiles[real[k]].computed, "computed_state": profiles[real[k]].computed_state,
         "account_id": profiles[real[k]].account_id}
        for k in state.temp
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
            [now, now, to_json(new_rows)],
        )
    new_ids = set(real.values())
    upd = [
        {"id": pid, "traits": profiles[pid].traits, "trait_times": profiles[pid].trait_times,
         "computed": profiles[pid].computed, "computed_state": profiles[pid].computed_state,
         "account_id": profiles[pid].account_id}
        for pid in sorted(state.survivors - new_ids)
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
            [now, to_json(upd)],
        )
    state.existing_merged = {m: s for m, s in state.merged_map.items() if m not in new_ids}


def _merges_write(cur, state: _Pass) -> None:
    """Point each merged existing profile (and profiles merged into it before) at its survivor, and move its
    identifiers and events there."""
    existing_merged, now = state.existing_merged, state.now
    if not existing_merged:
        return
    # ``col = ANY(merged)`` next to the join condition gives Postgres an index condition even when its
    # statistics are stale (e.g. analysed while profile_id was still empty), instead of a filtered scan
    # of the whole index.
    merged_arr = ints(sorted(existing_merged))
    pairs = [merged_arr, ints(existing_merged[m] for m in sorted(existing_merged))]
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
        UPDATE cdp_eventprofile e SET profile_id = m.s
          FROM unnest(%s::bigint[], %s::bigint[]) AS m(m, s)
         WHERE e.profile_id = m.m AND e.profile_id = ANY(%s::bigint[])
        """,
        [*pairs, merged_arr],
    )


def _identifiers_write(cur, state: _Pass) -> None:
    """Move identifiers whose profile changed (beyond a whole-profile merge) and insert the new ones."""
    owners, rid, existing_merged = state.owners, state.rid, state.existing_merged
    finals = state.graph.final_owners()
    moved = [(owners[i][0], rid(k)) for i, k in finals.items()
             if i in owners and rid(k) != owners[i][1] and rid(k) != existing_merged.get(owners[i][1])]
    if moved:
        cur.execute(
            """
            UPDATE cdp_identifier i SET profile_id = m.p
              FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, p) WHERE i.id = m.id
            """,
            [ints(a for a, _ in moved), ints(b for _, b in moved)],
        )
    # New identifiers cannot exist: every writer of identifiers holds their advisory locks, which this batch
    # holds (a plain INSERT, so a broken invariant fails the batch loudly rather than losing an identifier).
    created = [(t, v, rid(k)) for (t, v), k in finals.items() if (t, v) not in owners]
    if created:
        cur.execute(
            """
            INSERT INTO cdp_identifier (type, value, profile_id, created_at)
            SELECT t, v, p, %s FROM jsonb_to_recordset(%s::jsonb) AS q(t text, v text, p bigint)
            """,
            [state.now, to_json([{"t": t, "v": v, "p": p} for t, v, p in created])],
        )


def _crm_links(cur, state: _Pass) -> None:
    """The CRM contact link follows the crm_contact_id identifier (when one is involved)."""
    if any(t == "crm_contact_id" for t, _ in state.all_ids) or any(
            state.profiles[m].crm_contact_id for m in state.existing_merged):
        crm_links_follow(cur, sorted(set(state.profiles)))


def event_name(e: EventRow) -> str:
    """The event's name as stored in RawEvent.event (validation: a track's ``event``, a page's or screen's
    ``name``), '' for events without one."""
    name = e.payload.get("event") if e.type == "track" else e.payload.get("name") if e.type in ("page", "screen") \
        else None
    return name if isinstance(name, str) else ""


def _event_links_write(cur, state: _Pass) -> None:
    """Link events without a profile (the batch lock keeps other workers off these events). A deferred event
    that another worker's claim resolved between our two passes already has one: it is only moved if its person
    changed since."""
    linked = [(e, pid) for e, pid in state.event_profile if e.profile_id is None]
    if linked:
        received = {at: at.isoformat() for at in {e.received_at for e, _ in linked}}
        cur.execute(
            """
            INSERT INTO cdp_eventprofile (event_id, received_at, profile_id, "timestamp", event_name)
            SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::timestamptz[], %s::text[])
            """,
            [ints(e.id for e, _ in linked), "{" + ",".join(received[e.received_at] for e, _ in linked) + "}",
             ints(p for _, p in linked), "{" + ",".join(e.time_key for e, _ in linked) + "}",
             [event_name(e) for e, _ in linked]],
        )
    moved_events = [(e, pid) for e, pid in state.event_profile if e.profile_id is not None and e.profile_id != pid]
    if moved_events:
        cur.execute(
            """
            UPDATE cdp_eventprofile l SET profile_id = m.p
              FROM unnest(%s::bigint[], %s::bigint[]) AS m(id, p) WHERE l.event_id = m.id
            """,
            [ints(e.id for e, _ in moved_events), ints(p for _, p in moved_events)],
        )


def _audit_write(state: _Pass) -> None:
    """Record the merges and the refused merges (why these are, or are not, one person)."""
    graph, final, rid = state.graph, state.final, state.rid
    if graph.merges:
        with hot_cursor() as cur:
            cur.execute(
                """
                INSERT INTO cdp_profilemerge (survivor_id, merged_id, event_id, message_id, identifiers, at)
                SELECT s, m, e, mid, ids, %s
                  FROM jsonb_to_recordset(%s::jsonb) AS v(s bigint, m bigint, e bigint, mid text, ids jsonb)
                """,
                [state.now, to_json([{"s": final(m.survivor), "m": rid(m.merged), "e": m.event_id,
                                      "mid": m.message_id, "ids": [list(i) for i in m.identifiers]}
                                     for m in graph.merges])],
            )
    if graph.refusals:
        RefusedMerge.objects.bulk_create([
            RefusedMerge(profile_id=final(r.profile), other_profile_id=final(r.other) if r.other is not None else None,
                         event_id=r.event_id, message_id=r.message_id, dropped_type=r.dropped[0],
                         dropped_value=r.dropped[1][:512], reason=r.reason[:255], handed_over=r.handed_over)
            for r in graph.refusals
        ])


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
        traits, times = from_json(traits), from_json(times)
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
            [to_json(rows)],
        )
    return ids
