"""Undoing a wrong link: split one identifier off its profile into a new profile, and rebuild profiles."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from cdp.extensions import profiles_changed_listeners
from cdp.models import EventProfile, Identifier, IdentifierSplit, Profile, RawEvent
from cdp.models.sources import source_asserts_identity
from cdp.services import computed_traits as ct
from cdp.services.identity_locks import advisory_lock
from cdp.services.identity_rules import alias_resolve, identity_rules_load, message_identifiers
from cdp.services.traits import message_traits, time_key, traits_apply


class SplitError(ValueError):
    pass


def _notify_changed(profile_ids: list[int]) -> None:
    for listener in profiles_changed_listeners():
        listener(profile_ids)


def profiles_rebuild(*, profile_ids: list[int]) -> None:
    """Recompute traits and computed traits of ``profile_ids`` from their events. Caller holds their row locks."""
    defns = ct.definitions_enabled()
    now = timezone.now()
    for pid in profile_ids:
        traits: dict = {}
        times: dict = {}
        state: dict = {}
        events = RawEvent.objects.filter(profile_links__profile_id=pid).order_by("timestamp", "id").values_list(
            "type", "payload", "timestamp")
        for mtype, payload, at in events.iterator(chunk_size=2000):
            new = message_traits(mtype, payload)
            if new:
                traits_apply(traits, times, new, time_key(at))
            for d in defns:
                ct.state_add(d, state.setdefault(d.key, {}), mtype, payload, at)
        Profile.objects.filter(pk=pid).update(
            traits=traits, trait_times=times, computed_state=state,
            computed=ct.values_for(defns, state, now=now), updated_at=now,
        )


def identifier_split(*, identifier_id: int, by=None) -> IdentifierSplit:
    """Move identifier ``identifier_id`` from its profile to a new profile. The events whose identifiers
    include it and none of the identifiers the old profile keeps move with it; both profiles' traits and
    computed traits are recomputed from their events. Raises SplitError when nothing would be left behind."""
    rules = identity_rules_load()
    with transaction.atomic():
        ident = Identifier.objects.get(pk=identifier_id)
        with connection.cursor() as cur:
            advisory_lock(cur, {(ident.type, ident.value)})
        ident = Identifier.objects.select_related("profile").get(pk=identifier_id)
        old = Profile.objects.select_for_update().get(pk=ident.profile_id)
        remaining = set(Identifier.objects.filter(profile=old).exclude(pk=ident.pk).values_list("type", "value"))
        if not remaining:
            raise SplitError("This is the profile's only identifier; there is nothing to split it from.")
        new = Profile.objects.create()
        Identifier.objects.filter(pk=ident.pk).update(profile=new)
        target = (ident.type, ident.value)
        moving: list[int] = []
        rows = RawEvent.objects.filter(profile_links__profile_id=old.pk).values_list("id", "payload", "source__kind",
                                                                                   "source__identity_keys")
        for eid, payload, kind, keys in rows.iterator(chunk_size=2000):
            ids = message_identifiers(payload, rules=rules, source_kind=kind or "",
                                      contact_keys=source_asserts_identity(kind or "", keys))
            # The identifier an alias's previousId resolved to is on this profile.
            ids = set(alias_resolve(ids, payload, known=lambda i: i in remaining or i == target))
            if target in ids and not ids & remaining:
                moving.append(eid)
        if moving:
            EventProfile.objects.filter(profile_id=old.pk, event_id__in=moving).update(profile_id=new.pk)
        if ident.type == "crm_contact_id" and old.crm_contact_id is not None:
            contact_id = old.crm_contact_id
            Profile.objects.filter(pk=old.pk).update(crm_contact_id=None)
            Profile.objects.filter(pk=new.pk).update(crm_contact_id=contact_id)
        profiles_rebuild(profile_ids=[old.pk, new.pk])
        # Listeners hear both profiles once the split has committed (as after a processed batch).
        transaction.on_commit(lambda: _notify_changed([old.pk, new.pk]), robust=True)
        return IdentifierSplit.objects.create(
            identifier_type=ident.type, identifier_value=ident.value, from_profile=old, to_profile=new,
            events_moved=len(moving), by=by if getattr(by, "pk", None) else None,
        )
