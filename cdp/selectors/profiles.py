"""Reads of profiles: lookup by identifier, search, events, merges."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from cdp.models import Identifier, Profile, ProfileMerge, RawEvent, RefusedMerge
from cdp.services.identity_rules import identity_rules_load, normalize_email, normalize_phone


def normalize_identifier(type_: str, value: str) -> tuple[str, str]:
    type_ = type_.strip().lower()
    value = value.strip()
    if type_ == "email":
        value = normalize_email(value) or value.lower()
    elif type_ == "phone":
        value = normalize_phone(value, region=identity_rules_load().default_phone_region) or value
    return type_, value


def profile_for_identifier(type_: str, value: str) -> Profile | None:
    """The (surviving) profile owning ``type:value``, or None."""
    type_, value = normalize_identifier(type_, value)
    ident = Identifier.objects.select_related("profile").filter(type=type_, value=value).first()
    return ident.profile if ident else None


def profile_resolve(pk: int) -> Profile | None:
    """The profile ``pk`` or, if it was merged, its survivor (pointers are kept flat by merges)."""
    profile = Profile.objects.select_related("account").filter(pk=pk).first()
    if profile and profile.merged_into_id:
        profile = Profile.objects.select_related("account").filter(pk=profile.merged_into_id).first()
    return profile


def profile_identifiers(profile: Profile) -> list[Identifier]:
    return list(profile.identifiers.order_by("type", "value"))


def profile_events(profile: Profile, *, kinds: set[str] | None = None) -> QuerySet[RawEvent]:
    """The profile's events, newest first (through the EventProfile (profile_id, timestamp desc) index)."""
    qs = RawEvent.objects.filter(profile_links__profile_id=profile.pk).order_by("-timestamp", "-id")
    if kinds:
        qs = qs.filter(type__in=kinds)
    return qs


@dataclass
class MergeExplanation:
    merges: list[ProfileMerge]
    refusals: list[RefusedMerge]
    nodes: list[int]


def profile_merges(profile: Profile, *, visible: QuerySet[Profile] | None = None) -> MergeExplanation:
    """Why these are one person: every merge into this profile, directly or into a profile merged into it since
    (a merged profile points at its final survivor, so one level of ``merged_into`` covers any chain).

    ``visible`` (the viewer's profiles, from cdp.selectors.profile_visibility): refused merges naming a profile
    outside it are left out, so another person's identifier is not shown."""
    merges = list(ProfileMerge.objects.filter(Q(survivor=profile) | Q(survivor__merged_into=profile))
                  .order_by("at", "id"))
    absorbed = {m.merged_id for m in merges}
    refused = RefusedMerge.objects.filter(
        Q(profile=profile) | Q(other_profile=profile) | Q(profile__merged_into=profile)
        | Q(other_profile__merged_into=profile))
    if visible is not None:
        refused = refused.filter(Q(profile__in=visible.values("pk")),
                                 Q(other_profile__isnull=True) | Q(other_profile__in=visible.values("pk")))
    refusals = list(refused.order_by("-at")[:50])
    return MergeExplanation(merges=merges, refusals=refusals, nodes=sorted({profile.pk} | absorbed))


def profiles_search(query: str, *, visible: QuerySet[Profile], limit: int = 50) -> QuerySet[Profile]:
    """Profiles of ``visible`` (the viewer's, from cdp.selectors.profile_visibility) matching any identifier value
    (exact after normalisation, or prefix) or any trait value."""
    query = query.strip()
    base = visible.filter(merged_into__isnull=True)
    if not query:
        return base.order_by("-updated_at")[:limit]
    if ":" in query:
        type_, _, value = query.partition(":")
        t, v = normalize_identifier(type_, value)
        ids = Identifier.objects.filter(type=t, value=v).values("profile_id")
    else:
        low = query.lower()
        ids = Identifier.objects.filter(Q(value=query) | Q(value=low) | Q(value__startswith=low)).values("profile_id")
    trait_q = Q(traits__icontains=query) if len(query) >= 3 else Q(pk__in=[])
    return base.filter(Q(pk__in=ids) | trait_q).order_by("-updated_at")[:limit]
