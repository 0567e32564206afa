"""An identity split moves memberships: after an identifier is split off a profile, each real-time segment's
membership follows the profile that keeps the data matching it (one interval closed, one opened at the same
moment), with Segment Exited / Segment Entered on the two profiles' timelines."""

from __future__ import annotations

import pytest

from cdp.models import EventProfile, Identifier, Profile, RawEvent
from cdp.services.identity_split import identifier_split
from segments.models import Membership
from segments.services import refresh
from segments.services.segments import segment_create
from tests.cdp.identity_support import ingest, msg, profile_of, source

pytestmark = pytest.mark.django_db

PRICING = {"type": "all", "conditions": [
    {"type": "event", "event": "Pricing Viewed", "count": {"op": "at_least", "value": 2}}]}
PRO = {"type": "all", "conditions": [{"type": "trait", "key": "plan", "op": "equals", "value": "pro"}]}


def intervals(segment) -> list[tuple[int, bool]]:
    """(profile id, still open) of every membership interval of ``segment``."""
    return sorted((pid, exited is None) for pid, exited in
                  Membership.objects.filter(segment=segment).values_list("profile_id", "exited_at"))


def timeline(profile_id: int, name: str, segment) -> list[int]:
    """Segment ids of ``name`` events attributed to ``profile_id`` for ``segment``."""
    events = RawEvent.objects.filter(event=name, pk__in=EventProfile.objects.filter(profile_id=profile_id)
                                     .values("event_id"))
    return [e.payload["properties"]["segment_id"] for e in events
            if e.payload["properties"]["segment_id"] == segment.pk]


def test_a_split_moves_memberships_to_the_profile_that_keeps_the_matching_data(django_capture_on_commit_callbacks):
    src = source()
    with django_capture_on_commit_callbacks(execute=True):
        pricing = segment_create(name="Pricing twice", definition=PRICING)
        pro = segment_create(name="Pro", definition=PRO)
        scheduled = segment_create(name="Pricing twice (hourly)", definition=PRICING, mode="scheduled")
        # The laptop logs in as kim (plan pro); the tablet, anonymous, views the pricing page three times.
        ingest(src, [msg("page", minute=0, anonymousId="laptop"),
                     msg("identify", minute=1, anonymousId="laptop", userId="kim", traits={"plan": "pro"})])
        ingest(src, [msg("track", minute=10 + i, event="Pricing Viewed", anonymousId="tablet") for i in range(3)])
        tablet = profile_of("anonymous_id", "tablet")
        ingest(src, [msg("identify", minute=20, anonymousId="tablet", userId="kim")])  # a wrong link
    kim = profile_of("user_id", "kim")
    assert profile_of("anonymous_id", "tablet").pk == kim.pk
    # Identity resolution writes each link with its event's name (what segments' event counts read).
    names = set(EventProfile.objects.values_list("event_name", flat=True))
    assert names == {"", "Home", "Pricing Viewed", "Segment Entered"}
    assert Profile.objects.get(pk=tablet.pk).merged_into_id == kim.pk
    # The merge moved the tablet's membership to kim with its history; kim is pro.
    assert intervals(pricing) == [(kim.pk, True)] and intervals(pro) == [(kim.pk, True)]
    refresh.segment_refresh(segment_id=scheduled.pk)
    assert intervals(scheduled) == [(kim.pk, True)]
    pro_since = Membership.objects.get(segment=pro, profile_id=kim.pk).entered_at

    with django_capture_on_commit_callbacks(execute=True):
        split = identifier_split(identifier_id=Identifier.objects.get(type="anonymous_id", value="tablet").pk)

    new = split.to_profile_id
    assert split.from_profile_id == kim.pk and new != kim.pk
    assert split.events_moved == 3  # the pricing views left with the tablet
    # Real-time segments: the pricing membership follows the tablet's new profile; kim's interval is closed at
    # the moment the new one opens. Kim keeps the plan, so the Pro membership stays, untouched.
    assert intervals(pricing) == sorted([(kim.pk, False), (new, True)])
    closed = Membership.objects.get(segment=pricing, profile_id=kim.pk)
    opened = Membership.objects.get(segment=pricing, profile_id=new)
    assert closed.exited_at == opened.entered_at and closed.entered_at < closed.exited_at
    assert intervals(pro) == [(kim.pk, True)]
    assert Membership.objects.get(segment=pro, profile_id=kim.pk).entered_at == pro_since
    pricing.refresh_from_db()
    pro.refresh_from_db()
    assert (pricing.size, pro.size) == (1, 1)
    # Timelines: kim exited the pricing segment, the new profile entered it; nothing for the Pro segment.
    assert timeline(kim.pk, "Segment Exited", pricing) == [pricing.pk]
    assert timeline(new, "Segment Entered", pricing) == [pricing.pk]
    assert timeline(kim.pk, "Segment Entered", pricing) == [pricing.pk]  # from before the split, still there
    assert timeline(kim.pk, "Segment Exited", pro) == [] and timeline(new, "Segment Entered", pro) == []
    # A scheduled segment follows at its next refresh (the same compiled rule decides).
    assert intervals(scheduled) == [(kim.pk, True)]
    outcome = refresh.segment_refresh(segment_id=scheduled.pk)
    assert (outcome.entered, outcome.exited) == ([new], [kim.pk])
    assert intervals(scheduled) == sorted([(kim.pk, False), (new, True)])
