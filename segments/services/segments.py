"""Creating, changing, duplicating and deleting segments. The rule is checked (per-node errors) before
anything is saved; a saved change requests a full refresh after commit."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from segments.models import Segment
from segments.rules.validation import RuleError
from segments.services.definitions import rule_check, rule_facts
from segments.services.refresh import segment_refresh_request


def _check_fields(*, name: str, mode: str, interval_minutes: int) -> list[dict]:
    errors = []
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        errors.append({"path": "name", "message": "Enter a name of at most 120 characters."})
    if mode not in (Segment.Mode.REALTIME, Segment.Mode.SCHEDULED):
        errors.append({"path": "mode", "message": "Mode is realtime or scheduled."})
    valid_int = isinstance(interval_minutes, int) and not isinstance(interval_minutes, bool)
    if not valid_int or not 5 <= interval_minutes <= 10080:
        errors.append({"path": "interval_minutes", "message": "Enter minutes from 5 to 10080 (a week)."})
    return errors


def segment_create(*, name: str, definition, description: str = "", mode: str = Segment.Mode.REALTIME,
                   interval_minutes: int = 60, by=None) -> Segment:
    """A new segment with a checked rule; its first refresh is queued. Raises RuleError (paths ``name``,
    ``mode``, ``interval_minutes`` or the rule's nodes)."""
    errors = _check_fields(name=name, mode=mode, interval_minutes=interval_minutes)
    try:
        norm = rule_check(definition)
    except RuleError as exc:
        errors += [{**e, "path": f"definition.{e['path']}" if e["path"] else "definition"} for e in exc.errors]
    if errors:
        raise RuleError(errors)
    try:
        with transaction.atomic():
            segment = Segment.objects.create(
                name=name.strip(), description=description or "", definition=definition, mode=mode,
                interval_minutes=interval_minutes, created_by=by if getattr(by, "pk", None) else None,
                **rule_facts(norm))
            segment_refresh_request(segment=segment)
    except IntegrityError as exc:
        raise RuleError([{"path": "name", "message": "A segment with this name exists."}]) from exc
    segment.refresh_from_db()
    return segment


def segment_update(*, segment: Segment, name: str | None = None, definition=None, description: str | None = None,
                   mode: str | None = None, interval_minutes: int | None = None) -> Segment:
    """Change ``segment``; a new rule is checked (no cycle through this segment) and triggers a refresh."""
    name = segment.name if name is None else name
    mode = segment.mode if mode is None else mode
    interval_minutes = segment.interval_minutes if interval_minutes is None else interval_minutes
    errors = _check_fields(name=name, mode=mode, interval_minutes=interval_minutes)
    facts = {}
    if definition is not None:
        try:
            facts = rule_facts(rule_check(definition, segment_id=segment.pk))
        except RuleError as exc:
            errors += [{**e, "path": f"definition.{e['path']}" if e["path"] else "definition"} for e in exc.errors]
    if errors:
        raise RuleError(errors)
    segment.name, segment.mode, segment.interval_minutes = name.strip(), mode, interval_minutes
    if description is not None:
        segment.description = description
    if definition is not None:
        segment.definition = definition
        segment.depends_on, segment.uses_time = facts["depends_on"], facts["uses_time"]
    try:
        with transaction.atomic():
            segment.save(update_fields=["name", "mode", "interval_minutes", "description", "definition",
                                        "depends_on", "uses_time", "updated_at"])
            if definition is not None:
                segment_refresh_request(segment=segment)
    except IntegrityError as exc:
        raise RuleError([{"path": "name", "message": "A segment with this name exists."}]) from exc
    segment.refresh_from_db()
    return segment


def segment_duplicate(*, segment: Segment, by=None) -> Segment:
    """A copy named "<name> (copy)" (numbered if taken), with the same rule and mode."""
    base = f"{segment.name[:110]} (copy)"
    name, n = base, 2
    while Segment.objects.filter(name=name).exists():
        name, n = f"{base} {n}", n + 1
    return segment_create(name=name, definition=segment.definition, description=segment.description,
                          mode=segment.mode, interval_minutes=segment.interval_minutes, by=by)


def segment_delete(*, segment: Segment) -> None:
    """Delete ``segment`` with its history; refused while other segments use it."""
    users = list(Segment.objects.filter(depends_on__contains=[segment.pk]).values_list("name", flat=True))
    if users:
        raise RuleError([{"path": "", "message": f"Used by {', '.join(users)}: change those segments first."}])
    segment.delete()
