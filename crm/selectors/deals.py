"""Reads of deals: scoping, the board, lists, forecast and "my deals". Scoping is applied here, once."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from crm.models import Deal, Pipeline, SalesTarget, Stage
from crm.selectors.assignment import can_create_records
from crm.selectors.visibility import is_admin, owned_selectors, scope, visible_q

BOARD_CARDS_PER_STAGE = 30
DEFAULT_CURRENCY = "EUR"
ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=20, decimal_places=2)


def weighted_sum() -> Sum:
    """Sum of amount × probability / 100. (Annotation names must not shadow ``amount``/``probability``.)"""
    return Sum(ExpressionWrapper(F("amount") * F("probability") / Decimal(100), output_field=_MONEY))


deals_visible_to, deals_editable_by, deal_is_editable = owned_selectors(Deal)


def deal_links_visible(user: AbstractBaseUser, deal: Deal) -> dict:
    """The contacts of ``deal`` that ``user`` may see, and its company if they may open it
    ({"contacts": [...], "company": ... or None}). Seeing a deal says nothing about its contacts (people of
    another team's accounts); the company's name is part of the deal, its page is not."""
    from crm.selectors.companies import companies_visible_to  # noqa: PLC0415 (companies imports deals)
    from crm.selectors.contacts import contacts_visible_to  # noqa: PLC0415

    contacts = list(contacts_visible_to(user).filter(deals=deal).order_by("last_name", "first_name", "id"))
    company = (companies_visible_to(user).filter(pk=deal.company_id).first() if deal.company_id else None)
    return {"contacts": contacts, "company": company}


def user_can_write_deals(user: AbstractBaseUser) -> bool:
    """Whether ``user`` may create deals at all (admins, Sales reps and team managers)."""
    return can_create_records(user)


def deal_owners() -> QuerySet:
    """Active users who own at least one deal (for owner filters), by name; a semi-join on the owner index."""
    return (get_user_model().objects.filter(is_active=True)
            .filter(Exists(Deal.objects.filter(owner=OuterRef("pk")))).order_by("first_name", "username"))


def pipelines_list() -> QuerySet[Pipeline]:
    return Pipeline.objects.order_by("-is_default", "order", "name")


def pipeline_stage(*, pipeline_id: int, stage_id: int) -> Stage | None:
    """The stage ``stage_id`` if it belongs to pipeline ``pipeline_id`` (a deal moves only within its pipeline)."""
    return Stage.objects.filter(pk=stage_id, pipeline_id=pipeline_id).first()


def pipeline_stages(pipeline: Pipeline) -> list[Stage]:
    """The pipeline's stages in board order."""
    return list(pipeline.stages.all())


def pipeline_default() -> Pipeline | None:
    return pipelines_list().first()


@dataclass
class DealFilters:
    pipeline_id: int | None = None
    stage_id: int | None = None
    owner_id: int | None = None
    status: str | None = None
    close_from: date | None = None
    close_to: date | None = None
    q: str = ""

    def apply(self, qs: QuerySet[Deal]) -> QuerySet[Deal]:
        if self.pipeline_id:
            qs = qs.filter(pipeline_id=self.pipeline_id)
        if self.stage_id:
            qs = qs.filter(stage_id=self.stage_id)
        if self.owner_id:
            qs = qs.filter(owner_id=self.owner_id)
        if self.status:
            qs = qs.filter(status=self.status)
        if self.close_from:
            qs = qs.filter(expected_close_date__gte=self.close_from)
        if self.close_to:
            qs = qs.filter(expected_close_date__lte=self.close_to)
        if self.q:
            qs = qs.filter(Q(name__icontains=self.q) | Q(company__name__icontains=self.q))
        return qs


DEAL_SORTS = {
    "name": "name", "-name": "-name", "amount": "amount", "-amount": "-amount",
    "close": "expected_close_date", "-close": "-expected_close_date", "stage": "stage__order",
    "-stage": "-stage__order", "created": "created_at", "-created": "-created_at",
    "owner": "owner__username", "-owner": "-owner__username", "probability": "probability",
    "-probability": "-probability",
}


def deal_list(*, user: AbstractBaseUser, filters: DealFilters | None = None, sort: str = "-created") -> QuerySet[Deal]:
    """Visible deals with filters and a whitelisted sort, related rows joined for a list page or export."""
    qs = (filters or DealFilters()).apply(deals_visible_to(user))
    order = DEAL_SORTS.get(sort, "-created_at")
    # The tie-breaker runs the same way as the sort, so (column, id) indexes serve both directions.
    return qs.select_related("pipeline", "stage", "owner", "company").order_by(
        order, "-id" if order.startswith("-") else "id")


@dataclass
class MoneyTotal:
    currency: str
    amount: Decimal = ZERO
    weighted: Decimal = ZERO


@dataclass
class BoardColumn:
    stage: Stage
    count: int = 0
    totals: list[MoneyTotal] = field(default_factory=list)
    cards: list[Deal] = field(default_factory=list)

    @property
    def hidden_count(self) -> int:
        return max(0, self.count - len(self.cards))


def board_totals(*, user: AbstractBaseUser, pipeline: Pipeline, filters: DealFilters | None = None
                 ) -> dict[int, tuple[int, list[MoneyTotal]]]:
    """{stage_id: (count, [per-currency totals])} for the visible deals of ``pipeline`` in ONE aggregate query."""
    base = DealFilters() if filters is None else filters
    filters_here = DealFilters(**{**base.__dict__, "pipeline_id": pipeline.pk, "stage_id": None})
    rows = (filters_here.apply(deals_visible_to(user)).order_by()
            .values("stage_id", "currency")
            .annotate(n=Count("id"), total=Coalesce(Sum("amount"), ZERO), weighted=Coalesce(weighted_sum(), ZERO)))
    out: dict[int, tuple[int, list[MoneyTotal]]] = {}
    for row in rows:
        count, totals = out.get(row["stage_id"], (0, []))
        totals.append(MoneyTotal(row["currency"], row["total"], row["weighted"].quantize(Decimal("0.01"))))
        out[row["stage_id"]] = (count + row["n"], sorted(totals, key=lambda t: t.currency))
    return out


def board_columns(*, user: AbstractBaseUser, pipeline: Pipeline, filters: DealFilters | None = None,
                  cards_per_stage: int = BOARD_CARDS_PER_STAGE) -> list[BoardColumn]:
    """The kanban of ``pipeline``: stages in order, totals, and the first cards of each (4 queries in all)."""
    stages = list(pipeline.stages.order_by("order"))
    totals = board_totals(user=user, pipeline=pipeline, filters=filters)
    base = DealFilters() if filters is None else filters
    visible = DealFilters(**{**base.__dict__, "pipeline_id": pipeline.pk, "stage_id": None}).apply(
        deals_visible_to(user))
    # The first cards of each stage: one UNION ALL of per-stage LIMIT queries, each an index range scan on
    # (stage, expected_close_date, id), instead of ranking every deal of the pipeline.
    order = [F("expected_close_date").asc(nulls_last=True), "id"]
    parts = [visible.filter(stage_id=stage.pk).order_by(*order).values_list("id", flat=True)[:cards_per_stage]
             for stage in stages]
    ids = list(parts[0].union(*parts[1:], all=True).order_by()) if parts else []
    cards: dict[int, list[Deal]] = defaultdict(list)
    if ids:
        for deal in Deal.objects.filter(pk__in=ids).select_related("owner", "company").order_by("stage_id", *order):
            cards[deal.stage_id].append(deal)
    columns = []
    for stage in stages:
        count, money = totals.get(stage.pk, (0, []))
        columns.append(BoardColumn(stage=stage, count=count, totals=money, cards=cards.get(stage.pk, [])))
    return columns


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass
class ForecastMonth:
    month: date
    weighted: Decimal = ZERO
    open_amount: Decimal = ZERO
    open_count: int = 0
    won: Decimal = ZERO
    target: Decimal | None = None


@dataclass
class Forecast:
    currency: str
    months: list[ForecastMonth]
    by_owner: list[dict]
    by_pipeline: list[dict]
    currencies: list[str]

    @property
    def max_value(self) -> Decimal:
        values = [m.weighted for m in self.months] + [m.won for m in self.months] + [
            m.target for m in self.months if m.target is not None]
        return max(values + [Decimal(1)])


def forecast(*, user: AbstractBaseUser, start: date | None = None, months: int = 6, currency: str = DEFAULT_CURRENCY,
             pipeline_id: int | None = None, owner_id: int | None = None) -> Forecast:
    """Weighted open pipeline by expected close month (per owner and per pipeline), won and target per month.

    Only deals in ``currency`` count (amounts of different currencies are never added up). Won deals count in the
    month they closed. Targets are those of the owners/teams ``user`` may see (or the filtered owner's): the sum of
    owner targets of a month, or of team targets where no owner has one.
    """
    first = month_start(start or timezone.localdate())
    end = add_months(first, months)
    filters = DealFilters(pipeline_id=pipeline_id, owner_id=owner_id)
    visible = filters.apply(deals_visible_to(user))
    currencies = sorted(set(visible.order_by().values_list("currency", flat=True).distinct()) | {currency})
    in_currency = visible.filter(currency=currency)
    open_deals = in_currency.filter(status=Deal.Status.OPEN, expected_close_date__gte=first,
                                    expected_close_date__lt=end).annotate(month=TruncMonth("expected_close_date"))
    # One aggregate over (month, owner, pipeline) cells; the month, owner and pipeline views are sums of them.
    cells = list(open_deals.order_by().values("month", "owner_id", "pipeline_id").annotate(
        weighted=Coalesce(weighted_sum(), ZERO), total=Coalesce(Sum("amount"), ZERO), n=Count("id")))
    per_month: dict[date, dict] = {}
    by_owner_cells: dict[tuple, dict] = {}
    by_pipeline_cells: dict[tuple, dict] = {}
    for cell in cells:
        for table, key in ((per_month, cell["month"]), (by_owner_cells, (cell["month"], cell["owner_id"])),
                           (by_pipeline_cells, (cell["month"], cell["pipeline_id"]))):
            acc = table.setdefault(key, {"weighted": ZERO, "total": ZERO, "n": 0})
            acc["weighted"] += cell["weighted"]
            acc["total"] += cell["total"]
            acc["n"] += cell["n"]
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in={c["owner_id"] for c in cells})}
    pipeline_names = dict(Pipeline.objects.filter(pk__in={c["pipeline_id"] for c in cells}).values_list("id", "name"))
    by_owner = [{"month": m, "owner_id": o, "label": _user_label(users.get(o)), **acc}
                for (m, o), acc in by_owner_cells.items()]
    by_pipeline = [{"month": m, "pipeline_id": p, "label": pipeline_names.get(p, "?"), **acc}
                   for (m, p), acc in by_pipeline_cells.items()]
    won = {row["month"]: row["total"] for row in in_currency.filter(
        status=Deal.Status.WON, closed_at__date__gte=first, closed_at__date__lt=end,
    ).annotate(month=TruncMonth("closed_at__date")).order_by().values("month").annotate(total=Sum("amount"))}
    targets_qs = SalesTarget.objects.filter(currency=currency, month__gte=first, month__lt=end)
    if owner_id:
        targets_qs = targets_qs.filter(owner_id=owner_id)
    elif not is_admin(user):
        targets_qs = scope(targets_qs, visible_q(user))
    # Owner targets and team targets describe the same money from two sides: per month use the owners' sum,
    # or the teams' sum where no owner has a target, never both added up.
    targets: dict[date, Decimal] = {}
    for row in targets_qs.order_by().values("month").annotate(
            owners=Sum("amount", filter=Q(owner__isnull=False)), teams=Sum("amount", filter=Q(team__isnull=False))):
        targets[row["month"]] = row["owners"] if row["owners"] is not None else row["teams"]
    rows = []
    for i in range(months):
        m = add_months(first, i)
        agg = per_month.get(m, {})
        rows.append(ForecastMonth(month=m, weighted=(agg.get("weighted") or ZERO).quantize(Decimal("0.01")),
                                  open_amount=agg.get("total") or ZERO, open_count=agg.get("n") or 0,
                                  won=won.get(m) or ZERO, target=targets.get(m)))
    return Forecast(currency=currency, months=rows, by_owner=_pivot(by_owner, "owner_id", rows),
                    by_pipeline=_pivot(by_pipeline, "pipeline_id", rows), currencies=currencies)


def _pivot(rows: list[dict], key: str, months: list[ForecastMonth]) -> list[dict]:
    """Turn (key, month, weighted) rows into one row per key with a weighted value per month and a total."""
    table: dict = {}
    for row in rows:
        entry = table.setdefault(row[key], {"key": row[key], "label": row["label"], "values": {}, "total": ZERO})
        entry["values"][row["month"]] = row["weighted"].quantize(Decimal("0.01"))
        entry["total"] += row["weighted"].quantize(Decimal("0.01"))
    for entry in table.values():
        entry["cells"] = [entry["values"].get(m.month, ZERO) for m in months]
    return sorted(table.values(), key=lambda e: e["label"].lower())


def _user_label(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "Unassigned"


def my_deals_closing_this_month(*, user: AbstractBaseUser, today: date | None = None) -> QuerySet[Deal]:
    first = month_start(today or timezone.localdate())
    return (Deal.objects.filter(owner=user, status=Deal.Status.OPEN, expected_close_date__gte=first,
                                expected_close_date__lt=add_months(first, 1))
            .select_related("stage", "company").order_by("expected_close_date", "id"))
