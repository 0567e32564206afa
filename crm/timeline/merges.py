"""Timeline entries for merges (the merge itself, and the history of every contact merged into this one), and
the "possible duplicates" side panel of the contact page. Registered in CrmConfig.ready().

The merged contact's own history rows stay under its old id (an audit trail is not rewritten); the timeline
provider shows them on the survivor's timeline, marked as coming from it.
"""

from __future__ import annotations

from dataclasses import replace

from crm.extensions import TimelineEntry, register_contact_panel, register_timeline_provider
from crm.models import Company, CompanyMerge, Contact, ContactMerge
from crm.selectors.duplicates import duplicates_of
from crm.timeline.history import _actor, history_timeline


def merges_timeline(subject, *, user, limit: int = 50) -> list[TimelineEntry]:
    if isinstance(subject, Contact):
        merges = list(ContactMerge.objects.filter(survivor_id_at_merge=subject.pk).select_related("merged_by")[:20])
    elif isinstance(subject, Company):
        merges = list(CompanyMerge.objects.filter(survivor_id_at_merge=subject.pk).select_related("merged_by")[:20])
    else:
        return []
    entries: list[TimelineEntry] = []
    for merge in merges:
        snap = merge.other_snapshot
        name = (f"{snap.get('first_name', '')} {snap.get('last_name', '')}".strip() if isinstance(subject, Contact)
                else snap.get("name", "")) or f"#{merge.other_id}"
        kept = ", ".join(f"{k}: {v}" for k, v in sorted(merge.field_choices.items()) if v == "other")
        moved = sum(merge.moved.values())
        entries.append(TimelineEntry(
            at=merge.merged_at, kind="merge", title=f"Merged {name} (#{merge.other_id}) into this record",
            body=(f"Kept from {name}: {kept}. " if kept else "") + f"{moved} related record(s) moved over.",
            actor=_actor(merge.merged_by), extra={"merge_id": merge.pk, "other_id": merge.other_id}))
        ghost = type(subject)(pk=merge.other_id)
        for entry in history_timeline(ghost, user=user, limit=limit):
            entries.append(replace(entry, title=f"{entry.title} (on merged {name})"))
    return entries[: limit * 2]


def duplicates_panel(contact: Contact, *, user) -> dict | None:
    """Links to compare ``contact`` with its likely duplicates (from the last scan), if any are visible."""
    others = duplicates_of(user=user, contact=contact)[:5]
    if not others:
        return None
    names = dict(Contact.objects.filter(pk__in=others).values_list("pk", "first_name"))
    pairs = [{"other": pk, "a": min(pk, contact.pk), "b": max(pk, contact.pk), "name": names.get(pk, "")}
             for pk in others]
    return {"title": "Possible duplicates", "template": "crm/duplicates/_panel.html", "context": {"pairs": pairs}}


def register() -> None:
    register_timeline_provider(merges_timeline)
    register_contact_panel(duplicates_panel)

