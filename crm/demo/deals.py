"""Demo pipelines, deals, activities and targets so the board, forecast and my-work pages look alive."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from crm.models import Company, Contact, Deal, Pipeline, SalesTarget
from crm.selectors.deals import add_months, month_start
from crm.services.activities import activity_log
from crm.services.deals import deal_create, deal_mark_lost, deal_move_to_stage
from crm.services.pipelines import pipeline_create

PIPELINES = {
    "Sales": [
        {"name": "Lead", "probability": 10}, {"name": "Qualified", "probability": 25},
        {"name": "Demo", "probability": 40}, {"name": "Proposal", "probability": 60},
        {"name": "Negotiation", "probability": 80},
        {"name": "Won", "probability": 100, "is_won": True}, {"name": "Lost", "probability": 0, "is_lost": True},
    ],
    "Partnerships": [
        {"name": "Intro", "probability": 10}, {"name": "Evaluation", "probability": 30},
        {"name": "Contract", "probability": 70},
        {"name": "Signed", "probability": 100, "is_won": True}, {"name": "Dropped", "probability": 0, "is_lost": True},
    ],
}
PRODUCTS = ["CRM seats", "Analytics add-on", "Onboarding", "Support plan", "Data warehouse sync", "Renewal",
            "Enterprise upgrade", "Pilot", "API access", "Training"]
LOST_REASONS = ["Chose a competitor", "No budget this year", "Project cancelled", "Went silent"]


def _pipelines() -> dict[str, Pipeline]:
    result = {}
    for order, (name, stages) in enumerate(PIPELINES.items()):
        pipeline = Pipeline.objects.filter(name=name).first()
        result[name] = pipeline or pipeline_create(name=name, is_default=name == "Sales", order=order, stages=stages)
    return result


@transaction.atomic
def demo_deals_seed(*, deals_per_owner: int = 30, seed: int = 42) -> int:
    """Idempotently create demo pipelines, ~60 deals for ``sales``/``sales2``, activities and targets.

    Deals go through the services, so stage changes and outbox events are recorded as for real ones. Does
    nothing beyond the pipelines when demo deals exist already. Returns the number of deals created.
    """
    pipelines = _pipelines()
    User = get_user_model()
    owners = list(User.objects.filter(username__in=["sales", "sales2"]).order_by("username"))
    if not owners or Deal.objects.filter(pipeline__in=pipelines.values(), owner__in=owners).exists():
        return 0
    rng = random.Random(seed)
    today = timezone.localdate()
    now = timezone.now()
    close_this_month = add_months(month_start(today), 1) - timedelta(days=1)
    created = 0
    for owner in owners:
        team = owner.teams.order_by("id").first()
        companies = list(Company.objects.filter(owner=owner).order_by("id")[:40]) or [None]
        for i in range(deals_per_owner):
            pipeline = pipelines["Sales"] if i % 4 else pipelines["Partnerships"]
            stages = list(pipeline.stages.order_by("order"))
            open_stages = [s for s in stages if not (s.is_won or s.is_lost)]
            company = rng.choice(companies)
            contacts = list(Contact.objects.filter(company=company).order_by("id")[:2]) if company else []
            deal = deal_create(
                user=owner, pipeline=pipeline, owner=owner, team=team, company=company, contacts=contacts,
                name=f"{company.name if company else 'Prospect'} – {rng.choice(PRODUCTS)}",
                amount=Decimal(rng.randrange(20, 600) * 100), currency="EUR" if i % 7 else "USD",
                expected_close_date=close_this_month if i % 5 == 1 else today + timedelta(days=rng.randrange(-10, 170)),
            )
            created += 1
            roll = rng.random()
            if roll < 0.07 and i % 5 != 1:
                deal_move_to_stage(user=owner, deal=deal, stage=next(s for s in stages if s.is_won))
            elif roll < 0.14 and i % 5 != 1:
                deal_mark_lost(user=owner, deal=deal, reason=rng.choice(LOST_REASONS))
            else:
                target = rng.choice(open_stages)
                for stage in open_stages[1: open_stages.index(target) + 1]:
                    deal = deal_move_to_stage(user=owner, deal=deal, stage=stage)
            links = {"deal": deal, "contact": contacts[0] if contacts else None, "company": company}
            activity_log(user=owner, kind="call", subject="Discovery call", call_outcome=rng.choice(
                ["connected", "voicemail", "no_answer"]), call_duration_minutes=rng.randrange(3, 45),
                occurred_at=now - timedelta(days=rng.randrange(1, 30)), **links)
            if i % 3 == 0:
                activity_log(user=owner, kind="note", subject="Requirements", body="Needs SSO and an EU data region.",
                             occurred_at=now - timedelta(days=rng.randrange(0, 10)), **links)
            if i % 5 == 0:
                due = timezone.make_aware(datetime.combine(today, time(17, 0))) - timedelta(days=(i // 5) % 3)
                activity_log(user=owner, kind="task", subject=rng.choice(["Send proposal", "Follow up", "Book demo"]),
                             due_at=due, reminder_at=due - timedelta(hours=2), **links)
            if i % 6 == 0:
                start = now + timedelta(days=rng.randrange(1, 14), hours=rng.randrange(0, 6))
                activity_log(user=owner, kind="meeting", subject="Demo with the team", meeting_start=start,
                             meeting_end=start + timedelta(hours=1), **links)
        for offset in range(6):
            SalesTarget.objects.get_or_create(owner=owner, month=add_months(month_start(today), offset),
                                              currency="EUR", defaults={"amount": Decimal(40000 + 5000 * offset)})
    return created
