"""Timeline providers for activities and deal stage changes; registered in CrmConfig.ready()."""

from __future__ import annotations

from crm.extensions import TimelineEntry, register_contact_panel, register_timeline_provider
from crm.models import Activity, DealStageChange
from crm.selectors.activities import activities_for
from crm.selectors.deals import deals_visible_to, user_can_write_deals
from crm.selectors.visibility import scope, visible_q


def _actor(user) -> str:
    if user is None:
        return "System"
    return user.get_full_name() or user.get_username()


def _activity_title(activity: Activity) -> str:
    title = f"{activity.get_kind_display()}: {activity.subject}"
    if activity.kind == Activity.Kind.CALL and activity.call_outcome:
        title += f" ({activity.get_call_outcome_display()}"
        title += f", {activity.call_duration_minutes} min)" if activity.call_duration_minutes else ")"
    if activity.kind == Activity.Kind.TASK:
        title += " ✓" if activity.done else f" (due {activity.due_at:%Y-%m-%d %H:%M})"
    return title


def activities_timeline(subject, *, user, limit: int = 50) -> list[TimelineEntry]:
    """Activities linked to a contact, company or deal (the page has checked the subject is visible)."""
    if subject._meta.model_name not in {"contact", "company", "deal"} or subject.pk is None:
        return []
    return [
        TimelineEntry(at=a.occurred_at, kind="activity", title=_activity_title(a), body=a.body,
                      actor=_actor(a.created_by),
                      extra={"activity_id": a.pk, "activity_kind": a.kind, "done": a.done,
                             "is_task": a.kind == Activity.Kind.TASK})
        for a in activities_for(subject)[:limit]
    ]


def stage_changes_timeline(subject, *, user, limit: int = 50) -> list[TimelineEntry]:
    """Stage changes of a deal, or of those deals of a contact or company that ``user`` may see (seeing a contact
    says nothing about its deals: they may belong to another team)."""
    name = subject._meta.model_name
    if subject.pk is None or name not in {"deal", "contact", "company"}:
        return []
    lookup = {"deal": {"deal": subject}, "contact": {"deal__contacts": subject}, "company": {"deal__company": subject}}
    changes = (scope(DealStageChange.objects.filter(**lookup[name]), visible_q(user, prefix="deal__"))
               .select_related("deal", "from_stage", "to_stage", "changed_by").order_by("-changed_at", "-id")[:limit])
    entries = []
    for change in changes:
        prefix = "" if name == "deal" else f"{change.deal.name}: "
        title = (f"{prefix}Stage {change.from_stage.name} → {change.to_stage.name}" if change.from_stage
                 else f"{prefix}Deal created in {change.to_stage.name}")
        entries.append(TimelineEntry(at=change.changed_at, kind="stage_change", title=title,
                                     url=f"/crm/deals/{change.deal_id}/", actor=_actor(change.changed_by),
                                     extra={"deal_id": change.deal_id}))
    return entries


def contact_deals_panel(contact, *, user) -> dict | None:
    """Side panel of a contact: the deals linked to them that ``user`` may see, and a "New deal" link."""
    deals = list(deals_visible_to(user).filter(contacts=contact).select_related("stage")
                 .order_by("status", "expected_close_date", "id")[:20])
    if not deals and not user_can_write_deals(user):
        return None
    return {"title": "Deals", "template": "crm/deals/_contact_panel.html",
            "context": {"deals": deals, "can_create": user_can_write_deals(user)}}


def register() -> None:
    register_timeline_provider(activities_timeline)
    register_timeline_provider(stage_changes_timeline)
    register_contact_panel(contact_deals_panel)
