"""The CRM landing page: the numbers a rep starts the day with (a few queries, all scoped to the user)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Sum
from django.utils import timezone

from crm.models import Activity, Deal
from crm.selectors.activities import activities_visible_to, my_tasks
from crm.selectors.deals import deals_visible_to

RECENT_ACTIVITIES = 8


@dataclass(frozen=True)
class StageCount:
    pipeline: str
    stage: str
    deals: int
    amounts: list[tuple[str, Decimal]]  # (currency, total), by currency


@dataclass
class Landing:
    open_by_stage: list[StageCount] = field(default_factory=list)
    open_deals: int = 0
    tasks_overdue: list[Activity] = field(default_factory=list)
    tasks_today: list[Activity] = field(default_factory=list)
    recent: list[Activity] = field(default_factory=list)


def crm_landing(*, user: AbstractBaseUser) -> Landing:
    """Open deals the user may see by pipeline and stage (in board order, one aggregate query), the user's open
    tasks due today and overdue, and the latest activities the user may see."""
    rows = (deals_visible_to(user).filter(status=Deal.Status.OPEN).order_by()
            .values("pipeline__name", "pipeline__order", "pipeline_id", "stage__name", "stage__order", "stage_id",
                    "currency")
            .annotate(n=Count("id"), total=Sum("amount")))
    stages: dict[int, dict] = {}
    for row in rows:
        entry = stages.setdefault(row["stage_id"], {"key": (row["pipeline__order"], row["pipeline_id"],
                                                            row["stage__order"]),
                                                    "pipeline": row["pipeline__name"], "stage": row["stage__name"],
                                                    "n": 0, "amounts": []})
        entry["n"] += row["n"]
        entry["amounts"].append((row["currency"], row["total"] or Decimal("0")))
    ordered = sorted(stages.values(), key=lambda e: e["key"])
    landing = Landing(open_by_stage=[StageCount(e["pipeline"], e["stage"], e["n"], sorted(e["amounts"]))
                                     for e in ordered])
    landing.open_deals = sum(s.deals for s in landing.open_by_stage)
    tasks = my_tasks(user=user, now=timezone.now())
    landing.tasks_overdue, landing.tasks_today = tasks["overdue"], tasks["today"]
    landing.recent = list(activities_visible_to(user).select_related("contact", "company", "deal", "created_by")
                          .order_by("-occurred_at", "-id")[:RECENT_ACTIVITIES])
    return landing
