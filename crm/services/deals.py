"""Writes of deals: create, update, move between stages, won/lost. Each change is recorded in the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crm.models import Deal, DealStageChange, Pipeline, Stage, Team
from crm.selectors.deals import deals_editable_by, user_can_write_deals
from crm.services.custom_fields import custom_values_clean
from crm.services.deal_events import deal_event_record
from crm.services.records import assignment_check

# Relations are checked by the services themselves; full_clean would query each one again.
FK_FIELDS = ["contacts", "pipeline", "stage", "owner", "team", "company", "created_by"]
UPDATABLE_FIELDS = {"name", "amount", "currency", "probability", "expected_close_date", "owner", "team", "company",
                    "contacts", "custom", "pipeline", "stage", "lost_reason"}
PLAIN_FIELDS = frozenset({"name", "expected_close_date", "company"})  # taken as given (checked by full_clean)


def _clean_money(amount: Any, currency: str) -> tuple[Decimal, str]:
    try:
        value = Decimal(str(amount if amount not in (None, "") else 0))
    except InvalidOperation:
        raise ValidationError({"amount": "Enter a number."}) from None
    if value < 0 or not value.is_finite():
        raise ValidationError({"amount": "The amount cannot be negative."})
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError({"currency": "Use a three-letter ISO 4217 code such as EUR or USD."})
    return value.quantize(Decimal("0.01")), code


def _clean_probability(probability: Any) -> int | None:
    if probability in (None, ""):
        return None
    try:
        value = int(probability)
    except (TypeError, ValueError):
        raise ValidationError({"probability": "Enter a whole number from 0 to 100."}) from None
    if not 0 <= value <= 100:
        raise ValidationError({"probability": "Enter a whole number from 0 to 100."})
    return value


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(is_won=False, is_lost=False).order_by("order").first()
    stage = stage or pipeline.stages.order_by("order").first()
    if stage is None:
        raise ValidationError({"stage": f"The pipeline “{pipeline.name}” has no stages."})
    return stage


def _apply_stage(deal: Deal, stage: Stage, *, lost_reason: str = "") -> None:
    """Set stage, status, probability, closed_at and lost_reason of ``deal`` (unsaved) for ``stage``."""
    if stage.is_lost and not (lost_reason or "").strip():
        raise ValidationError({"lost_reason": "Say why the deal was lost."})
    deal.stage = stage
    deal.status = stage.status
    if stage.is_won or stage.is_lost:
        deal.probability, deal.probability_overridden = stage.probability, False
        deal.closed_at = deal.closed_at or timezone.now()
    else:
        deal.closed_at = None
        if not deal.probability_overridden:
            deal.probability = stage.probability
    deal.lost_reason = lost_reason.strip() if stage.is_lost else ""


def _lock_editable(*, user: AbstractBaseUser, deal: Deal) -> Deal:
    locked = deals_editable_by(user).select_for_update(of=("self",)).filter(pk=deal.pk).first()
    if locked is None:
        raise PermissionDenied("You may not change this deal.")
    return locked


@transaction.atomic
def deal_create(
    *,
    user: AbstractBaseUser,
    name: str,
    pipeline: Pipeline,
    stage: Stage | None = None,
    amount: Decimal | str | int = 0,
    currency: str = "EUR",
    probability: int | None = None,
    expected_close_date: date | None = None,
    owner: AbstractBaseUser | None = None,
    team: Team | None = None,
    company=None,
    contacts: Iterable = (),
    custom: dict | None = None,
    lost_reason: str = "",
) -> Deal:
    """Create a deal owned by ``owner`` (default: ``user``); records the first stage change and "Deal Created"."""
    if not user_can_write_deals(user):
        raise PermissionDenied("Your role may not create deals.")
    if not (name or "").strip():
        raise ValidationError({"name": "A deal needs a name."})
    owner = owner if owner is not None else user
    assignment_check(user, owner=owner, team=team)
    stage = stage or _first_open_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": "The stage belongs to another pipeline."})
    value, code = _clean_money(amount, currency)
    prob = _clean_probability(probability)
    deal = Deal(name=name.strip(), amount=value, currency=code, pipeline=pipeline, owner=owner, team=team,
                company=company, expected_close_date=expected_close_date, created_by=user,
                custom=custom_values_clean(object_type="deal", values=custom or {}),
                probability_overridden=prob is not None, probability=prob or 0)
    _apply_stage(deal, stage, lost_reason=lost_reason)
    deal.full_clean(exclude=FK_FIELDS)
    deal._history_user = user  # the history row names the actor outside requests too (API tokens, tasks)
    deal.save()
    contacts = list(contacts)
    if contacts:
        deal.contacts.set(contacts)
    DealStageChange.objects.create(deal=deal, from_stage=None, to_stage=stage, changed_by=user)
    deal_event_record(deal=deal, event="Deal Created", to_stage=stage)
    return deal


@transaction.atomic
def deal_move_to_stage(*, user: AbstractBaseUser, deal: Deal, stage: Stage, lost_reason: str = "") -> Deal:
    """Move ``deal`` to ``stage`` of its pipeline under a row lock; records the change (who, when) and the events.

    Raises PermissionDenied if ``user`` may not edit the deal, ValidationError for a stage of another pipeline or
    a lost stage without a reason. Moving to the current stage changes nothing.
    """
    locked = _lock_editable(user=user, deal=deal)
    if stage.pipeline_id != locked.pipeline_id:
        raise ValidationError({"stage": "The stage belongs to another pipeline."})
    if stage.pk == locked.stage_id:
        return locked
    from_stage = locked.stage
    _apply_stage(locked, stage, lost_reason=lost_reason)
    locked._history_user = user
    locked.save(update_fields=["stage", "status", "probability", "probability_overridden", "closed_at",
                               "lost_reason", "updated_at"])
    DealStageChange.objects.create(deal=locked, from_stage=from_stage, to_stage=stage, changed_by=user)
    deal_event_record(deal=locked, event="Deal Stage Changed", from_stage=from_stage, to_stage=stage)
    if stage.is_won:
        deal_event_record(deal=locked, event="Deal Won", from_stage=from_stage, to_stage=stage)
    elif stage.is_lost:
        deal_event_record(deal=locked, event="Deal Lost", from_stage=from_stage, to_stage=stage)
    return locked


def _closing_stage(pipeline: Pipeline, *, won: bool) -> Stage:
    stage = pipeline.stages.filter(**({"is_won": True} if won else {"is_lost": True})).order_by("order").first()
    if stage is None:
        kind = "won" if won else "lost"
        raise ValidationError({"stage": f"The pipeline “{pipeline.name}” has no {kind} stage."})
    return stage


def deal_mark_won(*, user: AbstractBaseUser, deal: Deal) -> Deal:
    """Move ``deal`` to the won stage of its pipeline."""
    return deal_move_to_stage(user=user, deal=deal, stage=_closing_stage(deal.pipeline, won=True))


def deal_mark_lost(*, user: AbstractBaseUser, deal: Deal, reason: str) -> Deal:
    """Move ``deal`` to the lost stage of its pipeline; ``reason`` is required."""
    if not (reason or "").strip():
        raise ValidationError({"lost_reason": "Say why the deal was lost."})
    return deal_move_to_stage(user=user, deal=deal, stage=_closing_stage(deal.pipeline, won=False),
                              lost_reason=reason)


@transaction.atomic
def deal_update(*, user: AbstractBaseUser, deal: Deal, changes: dict[str, Any]) -> Deal:
    """Apply ``changes`` (a subset of UPDATABLE_FIELDS) to ``deal`` under a row lock.

    ``probability`` set to a number overrides the stage default; set to None it goes back to the stage's default.
    A new ``stage`` (or ``pipeline`` + ``stage``) is a stage move and recorded as such. Owner/team changes follow
    ``crm.services.records.assignment_check`` (``ValidationError`` keyed by owner/team).
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    locked = _lock_editable(user=user, deal=deal)
    from_stage = locked.stage
    if "owner" in changes or "team" in changes:
        new_owner = changes.get("owner", locked.owner)
        new_team = changes.get("team", locked.team)
        assignment_check(user, owner=new_owner, team=new_team,
                         owner_changed=getattr(new_owner, "pk", None) != locked.owner_id,
                         team_changed=getattr(new_team, "pk", None) != locked.team_id)
        locked.owner, locked.team = new_owner, new_team
    for name in PLAIN_FIELDS & changes.keys():
        setattr(locked, name, changes[name])
    if "custom" in changes:
        locked.custom = custom_values_clean(object_type="deal", values=changes["custom"] or {}, existing=locked.custom)
    if "name" in changes and not (locked.name or "").strip():
        raise ValidationError({"name": "A deal needs a name."})
    if "amount" in changes or "currency" in changes:
        locked.amount, locked.currency = _clean_money(changes.get("amount", locked.amount),
                                                      changes.get("currency", locked.currency))
    if "probability" in changes:
        prob = _clean_probability(changes["probability"])
        locked.probability_overridden = prob is not None
        locked.probability = prob if prob is not None else locked.stage.probability
    pipeline = changes.get("pipeline") or locked.pipeline
    stage = changes.get("stage")
    if pipeline.pk != locked.pipeline_id and stage is None:
        stage = _first_open_stage(pipeline)
    if stage is not None and stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": "The stage belongs to another pipeline."})
    locked.pipeline = pipeline
    moved = stage is not None and stage.pk != locked.stage_id
    if moved:
        _apply_stage(locked, stage, lost_reason=changes.get("lost_reason", locked.lost_reason))
    elif "lost_reason" in changes and locked.status == Deal.Status.LOST:
        if not (changes["lost_reason"] or "").strip():
            raise ValidationError({"lost_reason": "Say why the deal was lost."})
        locked.lost_reason = changes["lost_reason"].strip()
    locked.full_clean(exclude=FK_FIELDS)
    locked._history_user = user
    locked.save()
    if "contacts" in changes:
        locked.contacts.set(list(changes["contacts"]))
    if moved:
        DealStageChange.objects.create(deal=locked, from_stage=from_stage, to_stage=locked.stage, changed_by=user)
        deal_event_record(deal=locked, event="Deal Stage Changed", from_stage=from_stage, to_stage=locked.stage)
        if locked.stage.is_won or locked.stage.is_lost:
            deal_event_record(deal=locked, event="Deal Won" if locked.stage.is_won else "Deal Lost",
                              from_stage=from_stage, to_stage=locked.stage)
    else:
        deal_event_record(deal=locked, event="Deal Updated", extra={"changed": sorted(changes)})
    return locked


@transaction.atomic
def deal_delete(*, user: AbstractBaseUser, deal: Deal) -> None:
    locked = _lock_editable(user=user, deal=deal)
    deal_event_record(deal=locked, event="Deal Deleted")
    locked.delete()
