"""What the Customer 360 page and the CRM contact page show about a profile (reads only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from cdp.models import Profile, RawEvent
from crm.extensions import TimelineEntry, timeline_for

# Kinds of the CDP's own timeline entries (the CRM contact timeline gets them through cdp.timeline).
EVENT_KINDS = {"web_event": "Web", "app_event": "App", "email": "Email", "identify": "Identity"}


def event_kind(message_type: str, source_kind: str | None) -> str | None:
    if source_kind == "crm":
        return None  # the CRM's own changes are on its timeline already
    if source_kind == "email":
        return "email"
    if message_type in ("identify", "alias", "group"):
        return "identify"
    if message_type == "screen" or source_kind == "mobile":
        return "app_event"
    return "web_event"


def _title(message_type: str, name: str | None, payload: dict[str, Any]) -> str:
    if message_type == "track":
        return name or "Event"
    if message_type == "page":
        props = payload.get("properties") or {}
        return f"Viewed {name or props.get('title') or props.get('path') or 'a page'}"
    if message_type == "screen":
        return f"Viewed screen {name or ''}".strip()
    if message_type == "identify":
        keys = ", ".join(sorted((payload.get("traits") or {}).keys())[:6])
        return f"Identified{': ' + keys if keys else ''}"
    if message_type == "group":
        return f"Joined account {payload.get('groupId', '')}"
    return message_type.capitalize()


def profile_event_entries(profile_id: int, *, limit: int = 50, kinds: set[str] | None = None) -> list[TimelineEntry]:
    """The profile's own events as timeline entries (CRM-sourced events left out), newest first."""
    rows = (RawEvent.objects.filter(profile_links__profile_id=profile_id).exclude(source__kind="crm")
            .order_by("-timestamp", "-id").values_list("type", "event", "timestamp", "payload", "source__kind",
                                                       "source__name")[: limit * 2])
    url = reverse("cdp:profile-detail", args=[profile_id])
    entries = []
    for mtype, name, at, payload, skind, sname in rows:
        kind = event_kind(mtype, skind)
        if kind is None or (kinds and kind not in kinds):
            continue
        props = (payload or {}).get("properties") or {}
        body = ", ".join(f"{k}: {v}" for k, v in list(props.items())[:4]) if isinstance(props, dict) else ""
        entries.append(TimelineEntry(at=at, kind=kind, title=_title(mtype, name, payload or {}), body=body,
                                     url=url, actor=sname or "", extra={"source": sname, "type": mtype}))
        if len(entries) >= limit:
            break
    return entries


@dataclass
class CrmView:
    contact: Any = None
    deals: list = field(default_factory=list)
    hidden: bool = False  # linked, but the user may not see this contact


def profile_crm(profile: Profile, *, user) -> CrmView:
    """The linked CRM contact (with owner and deals) as far as ``user`` may see it."""
    if not profile.crm_contact_id:
        return CrmView()
    from crm.selectors.contacts import contacts_visible_to
    from crm.selectors.deals import deals_visible_to

    contact = (contacts_visible_to(user).select_related("owner", "company")
               .filter(pk=profile.crm_contact_id).first())
    if contact is None:
        return CrmView(hidden=True)
    deals = list(deals_visible_to(user).filter(contacts=contact).select_related("stage", "owner")[:20])
    return CrmView(contact=contact, deals=deals)


def profile_timeline(profile: Profile, *, user, crm: CrmView, kinds: set[str] | None = None,
                     limit: int = 100) -> list[TimelineEntry]:
    """One timeline: the profile's events plus the linked contact's CRM entries (activities, tickets, history).
    The contact's timeline already carries the profile's events (cdp.timeline), so they are not added twice."""
    if crm.contact is not None:
        return timeline_for(crm.contact, user=user, limit=limit, kinds=kinds)
    return profile_event_entries(profile.pk, limit=limit, kinds=kinds)
