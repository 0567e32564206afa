"""CRM actions of a segment, run once per entry of a profile: create a task (for the contact's owner, a chosen
user, or by turns among a team), add or remove a tag, set the lifecycle stage, create a lead contact for a
profile with an email and no contact (owner by turns among a team). Through crm's services only.

Once per entry: an ActionRun row exists at most once per (action, membership interval) (unique constraint,
written by the refresh), and running it locks the row and marks it done in the transaction that acts, so a
second worker, a replayed batch or a re-run refresh never acts twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cdp.models import Identifier, Profile
from crm.models import Contact, Team
from crm.services.activities import task_create_automated
from crm.services.contacts import contact_create, contacts_bulk_set_lifecycle, contacts_bulk_tag
from segments.models import ActionRun, Destination

logger = logging.getLogger(__name__)
K = Destination.Kind
R = ActionRun.Status
PLACEHOLDER = re.compile(r"\{(\w+(?:\.\w+)?)\}")
PLACEHOLDERS = "{first_name}, {last_name}, {name}, {email}, {segment}, {owner}, {traits.KEY}"
ASSIGN_TO = ("owner", "user", "team")


def _int(value, field: str, *, low: int, high: int, default: int | None = None) -> int:
    if value in (None, "") and default is not None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: "Enter a whole number."}) from None
    if not low <= number <= high:
        raise ValidationError({field: f"Enter a number from {low} to {high}."})
    return number


def action_config_clean(kind: str, config: dict) -> dict:
    """The settings of a CRM action, checked (ValidationError keyed by field)."""
    if kind == K.TASK:
        subject = str(config.get("subject") or "").strip()
        if not subject:
            raise ValidationError({"subject": "Give the task a subject (placeholders: " + PLACEHOLDERS + ")."})
        assign_to = config.get("assign_to") or "owner"
        if assign_to not in ASSIGN_TO:
            raise ValidationError({"assign_to": "Assign to the contact's owner, a user or a team."})
        out = {"subject": subject[:200], "body": str(config.get("body") or "")[:5000], "assign_to": assign_to,
               "due_in_hours": _int(config.get("due_in_hours"), "due_in_hours", low=0, high=24 * 365, default=24)}
        if assign_to == "user" or config.get("user_id") not in (None, ""):
            user_id = _int(config.get("user_id"), "user_id", low=1, high=2**62)
            if not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
                raise ValidationError({"user_id": "No such active user."})
            out["user_id"] = user_id
        if assign_to == "team":
            out["team_id"] = _team(config.get("team_id"))
        return out
    if kind in (K.TAG_ADD, K.TAG_REMOVE):
        tag = str(config.get("tag") or "").strip()
        if not tag or len(tag) > 50:
            raise ValidationError({"tag": "Enter a tag (at most 50 characters)."})
        return {"tag": tag}
    if kind == K.LIFECYCLE:
        stage = config.get("stage")
        if stage not in Contact.Lifecycle.values:
            raise ValidationError({"stage": f"Choose one of {', '.join(Contact.Lifecycle.values)}."})
        return {"stage": stage}
    if kind == K.CREATE_CONTACT:
        return {"team_id": _team(config.get("team_id"))}
    raise ValidationError({"kind": "Not a CRM action."})


def _team(value) -> int:
    team_id = _int(value, "team_id", low=1, high=2**62)
    if not Team.objects.filter(pk=team_id).exists():
        raise ValidationError({"team_id": "No such team."})
    return team_id


def render_template(text: str, values: dict) -> str:
    """``text`` with each known ``{placeholder}`` replaced (unknown ones are left as typed)."""
    def sub(match: re.Match) -> str:
        key = match.group(1)
        if key.startswith("traits."):
            value = values.get("traits", {}).get(key[7:])
            return "" if value is None else str(value)
        return str(values[key]) if key in values and key != "traits" else match.group(0)

    return PLACEHOLDER.sub(sub, text)


def _next_in_team(dest: Destination, team_id: int):
    """The active team member after the one chosen last time by this action (by id, wrapping); locks the action."""
    dest = Destination.objects.select_for_update().get(pk=dest.pk)
    users = list(get_user_model().objects.filter(is_active=True, teams=team_id).order_by("pk"))
    if not users:
        return None
    after = [u for u in users if dest.round_robin_last_user_id is not None and u.pk > dest.round_robin_last_user_id]
    chosen = after[0] if after else users[0]
    Destination.objects.filter(pk=dest.pk).update(round_robin_last_user_id=chosen.pk)
    return chosen


def _email(profile: Profile) -> str:
    found = (Identifier.objects.filter(profile_id=profile.pk, type="email").order_by("id")
             .values_list("value", flat=True).first())
    return found or str((profile.traits or {}).get("email") or "")


def _act(run: ActionRun, now: dt.datetime) -> tuple[str, str, int | None, int | None]:
    """Do ``run``'s action; returns (status, detail, contact id, activity id). Caller holds the run's row lock."""
    dest = run.destination
    profile = Profile.objects.filter(pk=run.profile_id).first()
    while profile is not None and profile.merged_into_id:
        profile = Profile.objects.filter(pk=profile.merged_into_id).first()
    if profile is None:
        return R.SKIPPED, "The profile no longer exists.", None, None
    contact = Contact.objects.filter(pk=profile.crm_contact_id).select_related("owner").first() \
        if profile.crm_contact_id else None
    cfg = dest.config
    if dest.kind == K.CREATE_CONTACT:
        if contact is not None:
            return R.SKIPPED, "The profile already has a contact.", contact.pk, None
        email = _email(profile)
        if not email:
            return R.SKIPPED, "The profile has no email address.", None, None
        from crm.models import ContactEmail  # noqa: PLC0415

        existing = ContactEmail.objects.filter(email__iexact=email).values_list("contact_id", flat=True).first()
        if existing:
            return R.SKIPPED, f"A contact with {email} exists already.", existing, None
        owner = _next_in_team(dest, cfg["team_id"])
        traits = profile.traits or {}
        contact = contact_create(actor=None, first_name=str(traits.get("first_name") or "")[:100],
                                 last_name=str(traits.get("last_name") or "")[:100], emails=[email], owner=owner,
                                 team=Team.objects.filter(pk=cfg["team_id"]).first(),
                                 lifecycle_stage=Contact.Lifecycle.LEAD,
                                 lead_source=f"Segment: {dest.segment.name}"[:100])
        return R.DONE, f"Created lead contact {contact} (owner {owner or 'nobody'}).", contact.pk, None
    if contact is None:
        return R.SKIPPED, "The profile has no CRM contact.", None, None
    if dest.kind == K.TASK:
        assignee = None
        if cfg["assign_to"] == "owner":
            assignee = contact.owner or (get_user_model().objects.filter(pk=cfg.get("user_id"), is_active=True)
                                         .first() if cfg.get("user_id") else None)
        elif cfg["assign_to"] == "user":
            assignee = get_user_model().objects.filter(pk=cfg.get("user_id"), is_active=True).first()
        else:
            assignee = _next_in_team(dest, cfg["team_id"])
        if assignee is None:
            return R.SKIPPED, "Nobody to give the task to (no owner, user or team member).", contact.pk, None
        values = {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email,
                  "name": f"{contact.first_name} {contact.last_name}".strip() or contact.email,
                  "segment": dest.segment.name, "owner": assignee.get_full_name() or assignee.get_username(),
                  "traits": profile.traits or {}}
        task = task_create_automated(contact=contact, assignee=assignee,
                                     subject=render_template(cfg["subject"], values) or "Follow up",
                                     body=render_template(cfg.get("body", ""), values),
                                     due_at=now + dt.timedelta(hours=cfg.get("due_in_hours", 24)))
        return R.DONE, f"Task “{task.subject}” for {values['owner']}.", contact.pk, task.pk
    if dest.kind in (K.TAG_ADD, K.TAG_REMOVE):
        changed = contacts_bulk_tag(actor=None, contact_ids=[contact.pk], tag=cfg["tag"],
                                    remove=dest.kind == K.TAG_REMOVE)
        verb = "Removed" if dest.kind == K.TAG_REMOVE else "Added"
        return R.DONE, f"{verb} tag “{cfg['tag']}”" + ("" if changed else " (no change)") + ".", contact.pk, None
    if dest.kind == K.LIFECYCLE:
        changed = contacts_bulk_set_lifecycle(actor=None, contact_ids=[contact.pk], lifecycle_stage=cfg["stage"])
        label = Contact.Lifecycle(cfg["stage"]).label
        return R.DONE, f"Lifecycle stage set to {label}" + ("" if changed else " (no change)") + ".", contact.pk, None
    return R.FAILED, f"Unknown action {dest.kind}.", None, None


def action_run_execute(*, run_id: int, now: dt.datetime | None = None) -> str | None:
    """Run one pending action run; returns its new status, or None if it was not pending (done already, or being
    run by another worker right now). The act and the status change commit together."""
    now = now or timezone.now()
    with transaction.atomic():
        run = (ActionRun.objects.select_for_update(skip_locked=True, of=("self",))
               .select_related("destination__segment").filter(pk=run_id, status=R.PENDING).first())
        if run is None:
            return None
        try:
            with transaction.atomic():  # a failing crm write rolls back alone; the run records the failure
                status, detail, contact_id, activity_id = _act(run, now)
        except (ValidationError, PermissionDenied) as exc:
            status, detail, contact_id, activity_id = R.FAILED, "; ".join(
                getattr(exc, "messages", None) or [str(exc)]), None, None
        run.status, run.detail, run.contact_id, run.activity_id = status, detail[:2000], contact_id, activity_id
        run.attempts += 1
        run.done_at = now
        run.save(update_fields=["status", "detail", "contact_id", "activity_id", "attempts", "done_at"])
        return status


def action_runs_execute(*, segment_id: int | None = None, limit: int = 500) -> int:
    """Run pending action runs (oldest first, of ``segment_id`` if given); returns how many were run here."""
    qs = ActionRun.objects.filter(status=R.PENDING)
    if segment_id is not None:
        qs = qs.filter(destination__segment_id=segment_id)
    done = 0
    for run_id in qs.order_by("created_at", "id").values_list("pk", flat=True)[:limit]:
        if action_run_execute(run_id=run_id) is not None:
            done += 1
    return done
