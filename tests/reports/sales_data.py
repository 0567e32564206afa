"""Small fixed sales data with hand-computed report figures (see test_sales_reports.py).

Site time zone Europe/Berlin. Pipeline "Sales": Lead(10) Qualified(30) Proposal(60) Won(100) Lost(0).
Team North: manager Mia, members Sam and Bob. Team South: member Sid.

    deal  owner  status    amount     created (UTC)      closed (UTC)        expected close
    D1    sam    won       1000 EUR   2026-01-05 00:00   2026-01-20 12:00    2026-01-25
    D2    sam    won       3000 EUR   2026-01-10 00:00   2026-01-31 23:30 *  2026-02-01
    D3    bob    lost       500 EUR   2026-02-01 00:00   2026-02-15 00:00    2026-02-20
    D4    sid    won       2000 EUR   2026-01-01 00:00   2026-03-10 00:00    2026-03-05
    D5    sam    open/Prop 1000 EUR   2026-02-01 00:00   -                   2026-03-15
    D6    sam    won        700 USD   2026-01-02 00:00   2026-01-15 00:00    2026-01-15

    * 2026-02-01 00:30 in Berlin: a February sale, not a January one.

Stage history (D2 goes back from Qualified to Lead and forward again; D4 skips Qualified):
    D1  Lead 01-05 → Qualified 01-07 12:00 → Won 01-20 12:00
    D2  Lead 01-10 → Qualified 01-11 → Lead 01-12 → Qualified 01-14 → Proposal 01-20 → Won 01-31 23:30
    D3  Lead 02-01 → Lost 02-15
    D4  Lead 01-01 → Proposal 03-01 → Won 03-10
    D5  Lead 02-01 → Proposal 02-11 (still there)
Activities: Sam two on Monday 2026-01-05, Bob one on 2026-01-13.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from crm.models import Activity, Deal, DealStageChange, Pipeline
from tests.crm.deal_factories import DealFactory, make_pipeline
from tests.factories import TeamFactory, UserFactory


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass
class SalesWorld:
    pipeline: Pipeline
    admin: object
    mia: object
    sam: object
    bob: object
    sid: object
    marketer: object
    support: object
    north: object
    south: object
    deals: dict


def build_sales_world() -> SalesWorld:
    pipeline = make_pipeline()
    stages = {s.name: s for s in pipeline.stages.all()}
    admin = UserFactory(username="ada", first_name="Ada", last_name="Admin", is_superuser=True, is_staff=True)
    mia = UserFactory(username="mia", first_name="Mia", last_name="Manager", role="Sales")
    sam = UserFactory(username="sam", first_name="Sam", last_name="Seller", role="Sales")
    bob = UserFactory(username="bob", first_name="Bob", last_name="Builder", role="Sales")
    sid = UserFactory(username="sid", first_name="Sid", last_name="South", role="Sales")
    marketer = UserFactory(username="max", first_name="Max", last_name="Marketer", role="Marketing")
    support = UserFactory(username="sue", first_name="Sue", last_name="Helper", role="Support")
    north = TeamFactory(name="North", manager=mia)
    north.members.add(sam, bob)
    south = TeamFactory(name="South")
    south.members.add(sid)

    def deal(name, owner, stage, amount, created, closed, expected, currency="EUR", history=()):
        d = DealFactory(name=name, owner=owner, pipeline=pipeline, stage=stages[stage], amount=Decimal(amount),
                        currency=currency, expected_close_date=expected)
        Deal.objects.filter(pk=d.pk).update(created_at=created, closed_at=closed)
        previous = None
        for to, at in history:
            DealStageChange.objects.create(deal=d, from_stage=previous, to_stage=stages[to], changed_at=at)
            previous = stages[to]
        return d

    deals = {
        "D1": deal("D1", sam, "Won", "1000", utc(2026, 1, 5), utc(2026, 1, 20, 12), date(2026, 1, 25), history=[
            ("Lead", utc(2026, 1, 5)), ("Qualified", utc(2026, 1, 7, 12)), ("Won", utc(2026, 1, 20, 12))]),
        "D2": deal("D2", sam, "Won", "3000", utc(2026, 1, 10), utc(2026, 1, 31, 23, 30), date(2026, 2, 1),
                   history=[("Lead", utc(2026, 1, 10)), ("Qualified", utc(2026, 1, 11)), ("Lead", utc(2026, 1, 12)),
                            ("Qualified", utc(2026, 1, 14)), ("Proposal", utc(2026, 1, 20)),
                            ("Won", utc(2026, 1, 31, 23, 30))]),
        "D3": deal("D3", bob, "Lost", "500", utc(2026, 2, 1), utc(2026, 2, 15), date(2026, 2, 20), history=[
            ("Lead", utc(2026, 2, 1)), ("Lost", utc(2026, 2, 15))]),
        "D4": deal("D4", sid, "Won", "2000", utc(2026, 1, 1), utc(2026, 3, 10), date(2026, 3, 5), history=[
            ("Lead", utc(2026, 1, 1)), ("Proposal", utc(2026, 3, 1)), ("Won", utc(2026, 3, 10))]),
        "D5": deal("D5", sam, "Proposal", "1000", utc(2026, 2, 1), None, date(2026, 3, 15), history=[
            ("Lead", utc(2026, 2, 1)), ("Proposal", utc(2026, 2, 11))]),
        "D6": deal("D6", sam, "Won", "700", utc(2026, 1, 2), utc(2026, 1, 15), date(2026, 1, 15), currency="USD"),
    }
    for owner, at in ((sam, utc(2026, 1, 5, 9)), (sam, utc(2026, 1, 5, 15)), (bob, utc(2026, 1, 13, 10))):
        Activity.objects.create(kind=Activity.Kind.CALL, subject="Call", occurred_at=at, owner=owner,
                                deal=deals["D1"])
    return SalesWorld(pipeline, admin, mia, sam, bob, sid, marketer, support, north, south, deals)
