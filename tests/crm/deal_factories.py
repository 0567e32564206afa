"""Factories and helpers for pipelines, deals and activities."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from crm.models import Activity, Deal, Pipeline, Stage
from crm.services.pipelines import pipeline_create

STAGES = [
    {"name": "Lead", "probability": 10},
    {"name": "Qualified", "probability": 30},
    {"name": "Proposal", "probability": 60},
    {"name": "Won", "probability": 100, "is_won": True},
    {"name": "Lost", "probability": 0, "is_lost": True},
]


def make_pipeline(name: str = "Sales", *, is_default: bool = True) -> Pipeline:
    return pipeline_create(name=name, is_default=is_default, stages=STAGES)


def stage(pipeline: Pipeline, name: str) -> Stage:
    return pipeline.stages.get(name=name)


class DealFactory(factory.django.DjangoModelFactory):
    """A deal placed directly (no stage-change record); use the services where history matters."""

    class Meta:
        model = Deal
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = Decimal("1000.00")
    currency = "EUR"
    pipeline = factory.LazyFunction(lambda: Pipeline.objects.filter(name="Sales").first() or make_pipeline())
    stage = factory.LazyAttribute(lambda o: o.pipeline.stages.order_by("order").first())
    probability = factory.LazyAttribute(lambda o: o.stage.probability)
    status = factory.LazyAttribute(lambda o: o.stage.status)
    lost_reason = factory.LazyAttribute(lambda o: "Too expensive" if o.stage.is_lost else "")
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=10))


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.TASK
    subject = factory.Sequence(lambda n: f"Task {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    deal = factory.SubFactory(DealFactory)
