"""In-memory identity resolution of one batch (no database access; the caller loads and writes).

The caller feeds the owners of the batch's identifiers that already exist and the per-type identifier counts
of their profiles, then calls :meth:`BatchGraph.resolve` for each message in event-time order. The graph is a
union-find over profile keys: existing profiles use their id, profiles created here use negative temporary
keys. The survivor of a merge is always the oldest profile (existing before new, lower id first).

Rules, applied per message (Segment's algorithm): the profiles owning any of the message's identifiers are
merged and the message's unknown identifiers are added, unless that would push a type past its limit beyond
what one of the profiles already holds; then the message's lowest-priority identifier is dropped and the rest
is tried again. A dropped device identifier (anonymous_id) owned by someone else moves to the newly identified
person ("handed over": the last person identified on a device owns its later anonymous events). Explicit
statements of identity (the userId/previousId pair of an ``alias``, the CRM's merge of two contacts) are exempt
from limits; the other identifiers an alias carries are not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cdp.services.identity_rules import Ident, IdentityRules


@dataclass(slots=True)
class MergeRecord:
    survivor: int
    merged: int
    event_id: int | None
    message_id: str
    identifiers: list[Ident]


@dataclass(slots=True)
class Refusal:
    profile: int
    other: int | None
    event_id: int | None
    message_id: str
    dropped: Ident
    reason: str
    handed_over: bool


@dataclass(slots=True)
class ProfileNode:
    key: int
    rank: tuple[int, int]
    counts: Counter = field(default_factory=Counter)
    is_new: bool = False


class BatchGraph:
    def __init__(self, *, rules: IdentityRules, owners: dict[Ident, int], counts: dict[int, Counter]):
        self.rules = rules
        self.owner: dict[Ident, int] = dict(owners)
        self.original_owner: dict[Ident, int] = dict(owners)
        self.nodes: dict[int, ProfileNode] = {
            pid: ProfileNode(key=pid, rank=(0, pid), counts=Counter(c)) for pid, c in counts.items()
        }
        for pid in set(owners.values()):
            self.nodes.setdefault(pid, ProfileNode(key=pid, rank=(0, pid)))
        self.parent: dict[int, int] = {}
        self.merges: list[MergeRecord] = []
        self.refusals: list[Refusal] = []
        self._next_temp = -1

    # --- union-find -------------------------------------------------------------------------------------
    def find(self, key: int) -> int:
        root = key
        while root in self.parent:
            root = self.parent[root]
        while key != root:  # path compression
            nxt = self.parent[key]
            self.parent[key] = root
            key = nxt
        return root

    def owner_of(self, ident: Ident) -> int | None:
        key = self.owner.get(ident)
        return None if key is None else self.find(key)

    def _new_profile(self) -> int:
        key = self._next_temp
        self._next_temp -= 1
        self.nodes[key] = ProfileNode(key=key, rank=(1, -key), is_new=True)
        return key

    # --- rules ------------------------------------------------------------------------------------------
    def _violation(self, parts: list[int], new_ids: list[Ident]) -> str | None:
        """Why merging ``parts`` and adding ``new_ids`` breaks a limit, or None.

        A type can only break a limit if identifiers of it are added or several parts are joined: the total
        must exceed both the limit and what the largest part already holds."""
        added: dict[str, int] = {}
        for t, _ in new_ids:
            added[t] = added.get(t, 0) + 1
        types = set(added)
        if len(parts) > 1:
            for p in parts:
                types.update(t for t, n in self.nodes[p].counts.items() if n)
        for type_ in sorted(types):
            limit = self.rules.limit(type_)
            if limit is None:
                continue
            sizes = [self.nodes[p].counts[type_] for p in parts]
            total = added.get(type_, 0) + sum(sizes)
            if total > limit and total > max(sizes or [0]):
                return f"{type_} limit {limit}: would hold {total}"
        return None

    # --- one message ------------------------------------------------------------------------------------
    def resolve(self, ids: list[Ident], *, event_id: int | None = None, message_id: str = "",
                explicit: bool = False, explicit_ids: list[Ident] | None = None) -> int | None:
        """Resolve one message's identifiers (highest priority first) to a profile key; None if it has none.

        ``explicit``: no limit applies to any of ``ids``. ``explicit_ids`` (a subset of ``ids``, highest priority
        first): only these are joined whatever the limits; the rest then joins them under the limits."""
        if explicit_ids and len(explicit_ids) > 1 and not explicit:
            key = self._resolve(list(explicit_ids), event_id=event_id, message_id=message_id, explicit=True)
            rest = [i for i in ids if i not in explicit_ids]
            if not rest:
                return key
            anchored = sorted([explicit_ids[0], *rest], key=self.rules.sort_key)
            return self._resolve(anchored, event_id=event_id, message_id=message_id, explicit=False)
        return self._resolve(ids, event_id=event_id, message_id=message_id, explicit=explicit)

    def _resolve(self, ids: list[Ident], *, event_id: int | None, message_id: str, explicit: bool) -> int | None:
        if not ids:
            return None
        if len(ids) == 1:  # the common page/track call: its one identifier's profile, or a new one
            ident = ids[0]
            key = self.owner.get(ident)
            if key is not None:
                return self.find(key)
            survivor = self._new_profile()
            self.owner[ident] = survivor
            self.nodes[survivor].counts[ident[0]] += 1
            return survivor
        candidate = list(ids)
        dropped: list[tuple[Ident, str]] = []
        while True:
            found = [(i, self.owner_of(i)) for i in candidate]
            owners = sorted({o for _, o in found if o is not None}, key=lambda k: self.nodes[k].rank)
            new_ids = [i for i, o in found if o is None]
            if explicit or len(candidate) == 1 or (len(owners) <= 1 and not new_ids):
                reason = None
            else:
                reason = self._violation(owners, new_ids)
            if reason is None:
                break
            # Drop the lowest-priority identifier (the list is sorted highest first) and try again.
            dropped.append((candidate.pop(), reason))
        if owners:
            survivor = owners[0]
            for other in owners[1:]:
                self._merge(survivor, other, event_id=event_id, message_id=message_id, ids=candidate)
        else:
            survivor = self._new_profile()
        node = self.nodes[survivor]
        for ident in new_ids:
            self.owner[ident] = survivor
            node.counts[ident[0]] += 1
        identified = any(t == "user_id" for t, _ in candidate)
        for ident, reason in dropped:
            holder = self.owner_of(ident)
            handed = False
            if holder is not None and holder != survivor and ident[0] in self.rules.transferable and identified:
                self.owner[ident] = survivor
                self.nodes[holder].counts[ident[0]] -= 1
                node.counts[ident[0]] += 1
                handed = True
            self.refusals.append(Refusal(profile=survivor, other=holder if holder != survivor else None,
                                         event_id=event_id, message_id=message_id, dropped=ident,
                                         reason=reason, handed_over=handed))
        return survivor

    def _merge(self, survivor: int, other: int, *, event_id, message_id, ids) -> None:
        self.parent[other] = survivor
        self.nodes[survivor].counts.update(self.nodes[other].counts)
        self.merges.append(MergeRecord(survivor=survivor, merged=other, event_id=event_id, message_id=message_id,
                                       identifiers=list(ids)))

    # --- results ----------------------------------------------------------------------------------------
    def final_owners(self) -> dict[Ident, int]:
        return {ident: self.find(key) for ident, key in self.owner.items()}

    def new_profiles(self) -> list[int]:
        """Temporary keys in creation order (the oldest first)."""
        return sorted((k for k, n in self.nodes.items() if n.is_new), reverse=True)

    def merged_keys(self) -> dict[int, int]:
        return {k: self.find(k) for k in self.parent}


def resolve_messages(messages: list[dict[str, Any]], *, rules: IdentityRules) -> tuple[BatchGraph, list[int | None]]:
    """Resolve dict messages with ``ids`` (and optional ``explicit``) from an empty graph; for tests and benches."""
    graph = BatchGraph(rules=rules, owners={}, counts={})
    keys = [graph.resolve(m["ids"], explicit=m.get("explicit", False)) for m in messages]
    return graph, [None if k is None else graph.find(k) for k in keys]
