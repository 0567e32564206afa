"""Timeline providers for field history (simple_history) and lifecycle changes; registered in CrmConfig.ready().

The history provider serves any subject with ``HistoricalRecords`` (contacts, companies, deals): each entry
says who changed which fields from what to what. Foreign keys are shown by name, resolved in one query per
related model.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from crm.extensions import TimelineEntry, register_timeline_provider
from crm.models import Contact, LifecycleChange

_HIDDEN_FIELDS = {"id", "updated_at", "created_at", "search_text"}
# Fields whose changes have their own timeline entries (lifecycle changes, deal stage changes).
_SHOWN_ELSEWHERE = {"contact": {"lifecycle_stage"}, "deal": {"stage"}}


def _actor(user) -> str:
    if user is None:
        return "System"
    return user.get_full_name() or user.get_username()


def _display(field: models.Field | None, value: Any, names: dict[tuple[str, Any], str]) -> str:
    if value in (None, "", [], {}):
        return "—"
    if field is None:
        return str(value)
    if isinstance(field, models.ForeignKey):
        return names.get((field.name, value), f"#{value}")
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items()))
    return str(value)


def _fk_names(model, records) -> dict[tuple[str, Any], str]:
    """{(fk field name, id): display name} for every FK value in ``records`` (one query per related model)."""
    wanted: dict[str, set] = {}
    fk_fields = {f.name: f for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)}
    for record in records:
        for name, field in fk_fields.items():
            value = getattr(record, field.attname, None)
            if value is not None:
                wanted.setdefault(name, set()).add(value)
    names: dict[tuple[str, Any], str] = {}
    for name, ids in wanted.items():
        related = fk_fields[name].related_model
        for obj in related._default_manager.filter(pk__in=ids):
            label = obj.get_full_name() if hasattr(obj, "get_full_name") and obj.get_full_name() else str(obj)
            names[(name, obj.pk)] = label
    return names


def history_timeline(subject, *, user, limit: int = 50) -> list[TimelineEntry]:
    """Creation and field-change entries from ``subject.history``, newest first."""
    history = getattr(subject, "history", None)
    if history is None or not hasattr(history, "model") or subject.pk is None:
        return []
    records = list(history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    model = type(subject)
    hidden = _HIDDEN_FIELDS | _SHOWN_ELSEWHERE.get(model._meta.model_name, set())
    fields = {f.name: f for f in model._meta.concrete_fields if f.name not in hidden}
    names = _fk_names(model, records)
    entries: list[TimelineEntry] = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        actor = _actor(record.history_user)
        if record.history_type == "+":
            entries.append(TimelineEntry(at=record.history_date, kind="history", title="Created",
                                         actor=actor, extra={"changes": []}))
            continue
        if record.history_type == "-" or previous is None:
            continue
        changes = []
        for field in fields.values():
            if not hasattr(record, field.attname):
                continue
            old, new = getattr(previous, field.attname), getattr(record, field.attname)
            if old != new:
                changes.append({"field": str(field.verbose_name).capitalize(), "old": _display(field, old, names),
                                "new": _display(field, new, names)})
        if not changes:
            continue
        title = "Changed " + ", ".join(c["field"].lower() for c in changes)
        body = "; ".join(f"{c['field']}: {c['old']} → {c['new']}" for c in changes)
        entries.append(TimelineEntry(at=record.history_date, kind="history", title=title, body=body, actor=actor,
                                     extra={"changes": changes}))
    return entries


def lifecycle_timeline(subject, *, user, limit: int = 50) -> list[TimelineEntry]:
    """Lifecycle stage changes of a contact."""
    if not isinstance(subject, Contact):
        return []
    labels = dict(Contact.Lifecycle.choices)
    changes = LifecycleChange.objects.filter(contact=subject).select_related("changed_by")[:limit]
    return [
        TimelineEntry(
            at=change.changed_at, kind="lifecycle",
            title=(f"Lifecycle: {labels.get(change.from_stage, change.from_stage)} → {labels[change.to_stage]}"
                   if change.from_stage else f"Lifecycle set to {labels[change.to_stage]}"),
            actor=_actor(change.changed_by), extra={"from": change.from_stage, "to": change.to_stage},
        )
        for change in changes
    ]


def register() -> None:
    register_timeline_provider(history_timeline)
    register_timeline_provider(lifecycle_timeline)
