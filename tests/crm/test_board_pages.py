from decimal import Decimal

import pytest
from django.urls import reverse

from crm.models import Deal, DealStageChange, OutboxEntry
from crm.selectors.deals import DealFilters, board_columns
from crm.services.deals import deal_create
from tests.crm.deal_factories import DealFactory, make_pipeline, stage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline():
    return make_pipeline()


def test_board_columns_totals_and_weighted_amounts(pipeline, sales_user):
    DealFactory(owner=sales_user, pipeline=pipeline, amount=Decimal("1000"))  # Lead, 10%
    DealFactory(owner=sales_user, pipeline=pipeline, amount=Decimal("500"), stage=stage(pipeline, "Proposal"))
    DealFactory(owner=sales_user, pipeline=pipeline, amount=Decimal("200"), currency="USD",
                stage=stage(pipeline, "Proposal"))
    DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline, amount=Decimal("9999"))  # not visible
    columns = {c.stage.name: c for c in board_columns(user=sales_user, pipeline=pipeline)}
    assert list(columns) == ["Lead", "Qualified", "Proposal", "Won", "Lost"]
    assert columns["Lead"].count == 1
    assert [(t.currency, t.amount, t.weighted) for t in columns["Lead"].totals] == [
        ("EUR", Decimal("1000.00"), Decimal("100.00"))]
    assert columns["Proposal"].count == 2
    assert [(t.currency, t.amount, t.weighted) for t in columns["Proposal"].totals] == [
        ("EUR", Decimal("500.00"), Decimal("300.00")), ("USD", Decimal("200.00"), Decimal("120.00"))]
    assert columns["Qualified"].count == 0 and columns["Qualified"].cards == []


def test_board_filters_by_owner_and_close_date_and_caps_cards(pipeline, admin_user, sales_user):
    from datetime import date

    for i in range(5):
        DealFactory(owner=sales_user, pipeline=pipeline, expected_close_date=date(2030, 1, 1 + i))
    DealFactory(owner=admin_user, pipeline=pipeline, expected_close_date=date(2030, 6, 1))
    cols = board_columns(user=admin_user, pipeline=pipeline, filters=DealFilters(owner_id=sales_user.pk),
                         cards_per_stage=3)
    lead = cols[0]
    assert lead.count == 5 and len(lead.cards) == 3 and lead.hidden_count == 2
    assert [d.expected_close_date.day for d in lead.cards] == [1, 2, 3]
    cols = board_columns(user=admin_user, pipeline=pipeline,
                         filters=DealFilters(close_from=date(2030, 5, 1), close_to=date(2030, 12, 31)))
    assert cols[0].count == 1 and cols[0].cards[0].owner == admin_user


def test_board_column_links_to_the_rest_in_the_list(client, pipeline, sales_user):
    from crm.selectors import deals as deal_selectors

    for i in range(deal_selectors.BOARD_CARDS_PER_STAGE + 2):
        DealFactory(owner=sales_user, pipeline=pipeline, name=f"Bulk {i}")
    DealFactory(owner=sales_user, pipeline=pipeline, name="In proposal", stage=stage(pipeline, "Proposal"))
    client.force_login(sales_user)
    html = client.get(reverse("deal-board")).content.decode()
    assert "+2 more in the list" in html
    lead = stage(pipeline, "Lead")
    listing = client.get(reverse("deal-list"), {"pipeline": pipeline.pk, "stage": lead.pk}).content.decode()
    assert f"{deal_selectors.BOARD_CARDS_PER_STAGE + 2} deals" in listing and "In proposal" not in listing


def test_board_page_renders_columns_and_cards_with_constant_queries(client, pipeline, sales_user,
                                                                    django_assert_max_num_queries):
    for i in range(30):
        DealFactory(owner=sales_user, pipeline=pipeline, name=f"Deal {i}",
                    stage=stage(pipeline, ["Lead", "Qualified", "Proposal"][i % 3]))
    client.force_login(sales_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("deal-board"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="deal-card"') == 30
    assert html.count('data-testid="board-column"') == 5
    assert "10 deals" in html and "10,000 EUR" in html
    assert 'src="/static/js/board.js"' in html


def test_board_switches_pipeline(client, pipeline, sales_user):
    other = make_pipeline("Partnerships", is_default=False)
    DealFactory(owner=sales_user, pipeline=other, name="Partner deal")
    DealFactory(owner=sales_user, pipeline=pipeline, name="Sales deal")
    client.force_login(sales_user)
    html = client.get(reverse("deal-board"), {"pipeline": other.pk}).content.decode()
    assert "Partner deal" in html and "Sales deal" not in html
    html = client.get(reverse("deal-board")).content.decode()
    assert "Sales deal" in html and "Partner deal" not in html


def test_move_endpoint_moves_records_and_returns_new_totals(client, pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Drag me", pipeline=pipeline, amount=1000)
    client.force_login(sales_user)
    proposal = stage(pipeline, "Proposal")
    response = client.post(reverse("deal-board-move"), {"deal": deal.pk, "stage": proposal.pk})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["ok"] and data["probability"] == 60
    assert "1 deal" in data["columns"][str(proposal.pk)] and "600 weighted" in data["columns"][str(proposal.pk)]
    assert "0 deals" in data["columns"][str(stage(pipeline, "Lead").pk)]
    deal.refresh_from_db()
    assert deal.stage == proposal
    change = DealStageChange.objects.filter(deal=deal).latest("id")
    assert change.changed_by == sales_user and change.to_stage == proposal
    assert OutboxEntry.objects.filter(object_id=deal.pk, message__event="Deal Stage Changed").exists()


def test_move_endpoint_denies_read_only_user_with_403_and_keeps_deal(client, pipeline, sales_user, marketing_user):
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    client.force_login(marketing_user)
    assert client.get(reverse("deal-board")).status_code == 200  # marketing may look
    response = client.post(reverse("deal-board-move"), {"deal": deal.pk, "stage": stage(pipeline, "Won").pk})
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    deal.refresh_from_db()
    assert deal.stage.name == "Lead" and not DealStageChange.objects.exists()


def test_move_endpoint_hides_other_reps_deal_with_404(client, pipeline, sales_user):
    deal = DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline)
    client.force_login(sales_user)
    response = client.post(reverse("deal-board-move"), {"deal": deal.pk, "stage": stage(pipeline, "Won").pk})
    assert response.status_code == 404
    assert Deal.objects.get(pk=deal.pk).stage.name == "Lead"


def test_move_endpoint_validates_stage_and_lost_reason(client, pipeline, sales_user):
    other = make_pipeline("Other", is_default=False)
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    client.force_login(sales_user)
    url = reverse("deal-board-move")
    assert client.post(url, {"deal": deal.pk, "stage": stage(other, "Won").pk}).status_code == 400
    response = client.post(url, {"deal": deal.pk, "stage": stage(pipeline, "Lost").pk})
    assert response.status_code == 400 and "lost" in response.json()["detail"].lower()
    response = client.post(url, {"deal": deal.pk, "stage": stage(pipeline, "Lost").pk, "lost_reason": "Budget"})
    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", "Budget")
    assert client.get(url).status_code == 405
    assert client.post(url, {"deal": "x"}).status_code == 400


def test_board_requires_login(client):
    assert client.get(reverse("deal-board")).status_code == 302
    assert client.post(reverse("deal-board-move"), {}).status_code == 302
