"""Writes of pipelines and stages (admins manage them)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, ProtectedError

from crm.models import Pipeline, Stage
from crm.selectors.visibility import is_admin


def _require_admin(user: AbstractBaseUser | None) -> None:
    if user is not None and not is_admin(user):
        raise PermissionDenied("Only admins manage pipelines.")


@transaction.atomic
def pipeline_create(*, name: str, is_default: bool = False, order: int = 0, stages: Iterable[dict] = (),
                    user: AbstractBaseUser | None = None) -> Pipeline:
    """Create a pipeline with ``stages`` (dicts of name, probability, is_won, is_lost) in the given order.

    ``user`` None means a system call (demo data, migrations); otherwise it must be an admin.
    """
    _require_admin(user)
    if not (name or "").strip():
        raise ValidationError({"name": "A pipeline needs a name."})
    if Pipeline.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": "A pipeline with this name exists."})
    if is_default:
        Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline = Pipeline.objects.create(name=name.strip(), is_default=is_default, order=order)
    for spec in stages:
        stage_create(pipeline=pipeline, **spec)
    return pipeline


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, name: str | None = None, is_default: bool | None = None,
                    order: int | None = None, user: AbstractBaseUser | None = None) -> Pipeline:
    _require_admin(user)
    fields = []
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": "A pipeline needs a name."})
        pipeline.name = name.strip()
        fields.append("name")
    if is_default is not None:
        if is_default:
            Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
        pipeline.is_default = is_default
        fields.append("is_default")
    if order is not None:
        pipeline.order = order
        fields.append("order")
    try:
        with transaction.atomic():
            pipeline.save(update_fields=fields or None)
    except IntegrityError:
        raise ValidationError({"name": "A pipeline with this name exists."}) from None
    return pipeline


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline, user: AbstractBaseUser | None = None) -> None:
    _require_admin(user)
    if pipeline.deals.exists():
        raise ValidationError({"pipeline": "Move or delete the deals of this pipeline first."})
    pipeline.delete()


def _check_stage(*, probability: int, is_won: bool, is_lost: bool) -> None:
    if not 0 <= int(probability) <= 100:
        raise ValidationError({"probability": "Enter a whole number from 0 to 100."})
    if is_won and is_lost:
        raise ValidationError({"is_lost": "A stage cannot be both won and lost."})


@transaction.atomic
def stage_create(*, pipeline: Pipeline, name: str, probability: int = 0, is_won: bool = False, is_lost: bool = False,
                 order: int | None = None, user: AbstractBaseUser | None = None) -> Stage:
    """Add a stage, at the end unless ``order`` is given (later stages then shift one place right)."""
    _require_admin(user)
    _check_stage(probability=probability, is_won=is_won, is_lost=is_lost)
    if not (name or "").strip():
        raise ValidationError({"name": "A stage needs a name."})
    if pipeline.stages.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": "This pipeline already has a stage with this name."})
    Pipeline.objects.select_for_update().filter(pk=pipeline.pk).first()
    last = pipeline.stages.aggregate(m=Max("order"))["m"]
    if order is None or last is None or order > last:
        order = 0 if last is None else last + 1
    else:
        # The unique (pipeline, order) constraint is deferred, so shifting in one statement is fine.
        pipeline.stages.filter(order__gte=order).update(order=F("order") + 1)
    return Stage.objects.create(pipeline=pipeline, name=name.strip(), probability=probability, is_won=is_won,
                                is_lost=is_lost, order=order)


@transaction.atomic
def stage_update(*, stage: Stage, name: str | None = None, probability: int | None = None,
                 is_won: bool | None = None, is_lost: bool | None = None,
                 user: AbstractBaseUser | None = None) -> Stage:
    """Change a stage. A new default probability applies to its open deals that do not override it."""
    _require_admin(user)
    new_won = stage.is_won if is_won is None else is_won
    new_lost = stage.is_lost if is_lost is None else is_lost
    new_prob = stage.probability if probability is None else probability
    _check_stage(probability=new_prob, is_won=new_won, is_lost=new_lost)
    if (new_won, new_lost) != (stage.is_won, stage.is_lost) and stage.deals.exists():
        raise ValidationError({"is_won": "Move the deals out of this stage before changing won/lost."})
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": "A stage needs a name."})
        if stage.pipeline.stages.filter(name__iexact=name.strip()).exclude(pk=stage.pk).exists():
            raise ValidationError({"name": "This pipeline already has a stage with this name."})
        stage.name = name.strip()
    stage.probability, stage.is_won, stage.is_lost = new_prob, new_won, new_lost
    stage.save()
    stage.deals.filter(probability_overridden=False, status="open").update(probability=new_prob)
    return stage


@transaction.atomic
def stages_reorder(*, pipeline: Pipeline, stage_ids: list[int], user: AbstractBaseUser | None = None) -> None:
    """Put the stages of ``pipeline`` in the order of ``stage_ids`` (all of them, each once)."""
    _require_admin(user)
    current = set(pipeline.stages.values_list("id", flat=True))
    if set(stage_ids) != current or len(stage_ids) != len(current):
        raise ValidationError({"stage_ids": "List every stage of the pipeline exactly once."})
    for position, stage_id in enumerate(stage_ids):
        Stage.objects.filter(pk=stage_id).update(order=position)


@transaction.atomic
def stage_delete(*, stage: Stage, user: AbstractBaseUser | None = None) -> None:
    _require_admin(user)
    if stage.deals.exists():
        raise ValidationError({"stage": "Move the deals out of this stage first."})
    try:
        with transaction.atomic():
            stage.delete()
    except ProtectedError:
        raise ValidationError({"stage": "Deals have passed through this stage; rename it instead."}) from None


def stage_probabilities_sync(*, pipeline: Pipeline) -> int:
    """Give open deals of ``pipeline`` that do not override it their stage's probability (after admin edits)."""
    from django.db.models import OuterRef, Subquery

    from crm.models import Deal

    stage_probability = Stage.objects.filter(pk=OuterRef("stage_id")).values("probability")[:1]
    return (Deal.objects.filter(pipeline=pipeline, status="open", probability_overridden=False)
            .update(probability=Subquery(stage_probability)))
