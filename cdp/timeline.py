"""What cdp adds to CRM pages: the linked profile's web/app/email events on the contact timeline and a side
panel with the profile link, segments and computed traits. Registered in CdpConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from cdp.extensions import segments_for_profile
from cdp.models import Profile
from cdp.selectors.customer360 import profile_event_entries
from crm.extensions import TimelineEntry
from crm.selectors.contact_links import is_contact


def _profile_for_contact(contact) -> Profile | None:
    return Profile.objects.filter(crm_contact_id=contact.pk, merged_into__isnull=True).first()


def contact_web_events(subject, *, user, limit: int = 50) -> list[TimelineEntry]:
    if not is_contact(subject):
        return []
    profile = _profile_for_contact(subject)
    return profile_event_entries(profile.pk, limit=limit) if profile else []


def contact_profile_panel(contact, *, user) -> dict[str, Any] | None:
    profile = _profile_for_contact(contact)
    if profile is None:
        return None
    return {
        "title": "Customer profile",
        "template": "cdp/profiles/_contact_panel.html",
        "context": {"profile": profile, "segments": segments_for_profile(profile.pk),
                    "profile_url": reverse("cdp:profile-detail", args=[profile.pk]),
                    "computed": sorted((profile.computed or {}).items())[:8]},
    }


def ticket_profile_panel(ticket, *, user) -> dict[str, Any] | None:
    """Beside a ticket: the requester's profile — recent web/app events and traits."""
    if ticket.requester_id is None:
        return None
    profile = Profile.objects.filter(crm_contact_id=ticket.requester_id, merged_into__isnull=True).first()
    if profile is None:
        return None
    return {
        "title": "Web activity and traits",
        "template": "cdp/profiles/_ticket_panel.html",
        "context": {"profile_url": reverse("cdp:profile-detail", args=[profile.pk]),
                    "events": profile_event_entries(profile.pk, limit=8),
                    "traits": sorted((profile.traits or {}).items())[:10],
                    "computed": sorted((profile.computed or {}).items())[:6]},
    }


def register() -> None:
    from crm.extensions import register_contact_panel, register_ticket_panel, register_timeline_provider

    register_timeline_provider(contact_web_events)
    register_contact_panel(contact_profile_panel)
    register_ticket_panel(ticket_profile_panel)
