from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import SalesTarget
from crm.selectors.deals import add_months, forecast, month_start
from tests.crm.deal_factories import DealFactory, TaskFactory, make_pipeline, stage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipelines():
    return make_pipeline(), make_pipeline("Partnerships", is_default=False)


def test_forecast_weighted_by_month_owner_and_pipeline_with_won_and_target(pipelines, admin_user, sales_user):
    sales, partners = pipelines
    first = month_start(timezone.localdate())
    nxt = add_months(first, 1)
    rita = UserFactory(role="Sales", username="rita", first_name="Rita", last_name="Rep")
    DealFactory(owner=sales_user, pipeline=sales, stage=stage(sales, "Proposal"), amount=1000,
                expected_close_date=first + timedelta(days=3))  # 600
    DealFactory(owner=rita, pipeline=partners, stage=stage(partners, "Lead"), amount=2000,
                expected_close_date=first + timedelta(days=5))  # 200
    DealFactory(owner=rita, pipeline=sales, stage=stage(sales, "Qualified"), amount=100,
                expected_close_date=nxt)  # 30
    DealFactory(owner=rita, pipeline=sales, stage=stage(sales, "Qualified"), amount=100, currency="USD",
                expected_close_date=nxt)  # other currency: not counted
    DealFactory(owner=sales_user, pipeline=sales, stage=stage(sales, "Qualified"), amount=100,
                expected_close_date=add_months(first, 12))  # out of range
    DealFactory(owner=sales_user, pipeline=sales, stage=stage(sales, "Won"), amount=700,
                closed_at=timezone.make_aware(datetime.combine(first, datetime.min.time())) + timedelta(hours=12))
    SalesTarget.objects.create(owner=sales_user, month=first, amount=Decimal("1400"))
    data = forecast(user=admin_user, months=3)
    assert [m.month for m in data.months] == [first, nxt, add_months(first, 2)]
    this = data.months[0]
    assert (this.weighted, this.open_amount, this.open_count, this.won, this.target) == (
        Decimal("800.00"), Decimal("3000.00"), 2, Decimal("700.00"), Decimal("1400.00"))
    assert data.months[1].weighted == Decimal("30.00") and data.months[1].target is None
    owners = {row["label"]: row["cells"] for row in data.by_owner}
    assert owners == {"Rita Rep": [Decimal("200.00"), Decimal("30.00"), Decimal("0.00")],
                      "Sam Seller": [Decimal("600.00"), Decimal("0.00"), Decimal("0.00")]}
    pipes = {row["label"]: row["total"] for row in data.by_pipeline}
    assert pipes == {"Partnerships": Decimal("200.00"), "Sales": Decimal("630.00")}
    assert data.currencies == ["EUR", "USD"]
    usd = forecast(user=admin_user, months=3, currency="USD")
    assert usd.months[1].weighted == Decimal("30.00") and usd.months[0].weighted == Decimal("0.00")


def test_forecast_is_scoped_to_what_the_user_sees(pipelines, sales_user):
    sales, _ = pipelines
    first = month_start(timezone.localdate())
    DealFactory(owner=sales_user, pipeline=sales, stage=stage(sales, "Proposal"), amount=1000,
                expected_close_date=first)
    other = UserFactory(role="Sales")
    DealFactory(owner=other, pipeline=sales, stage=stage(sales, "Proposal"), amount=5000, expected_close_date=first)
    SalesTarget.objects.create(owner=other, month=first, amount=Decimal("99"))
    data = forecast(user=sales_user, months=1)
    assert data.months[0].weighted == Decimal("600.00") and data.months[0].target is None


def test_forecast_page_renders_chart_and_tables(client, pipelines, sales_user, django_assert_max_num_queries):
    sales, _ = pipelines
    first = month_start(timezone.localdate())
    for i in range(20):
        DealFactory(owner=sales_user, pipeline=sales, stage=stage(sales, "Proposal"), amount=1000,
                    expected_close_date=add_months(first, i % 3))
    SalesTarget.objects.create(owner=sales_user, month=first, amount=Decimal("5000"))
    client.force_login(sales_user)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("deal-forecast"))
    html = response.content.decode()
    assert response.status_code == 200
    chart = html.split('data-testid="forecast-chart"')[1].split("</figure>")[0]
    assert "vendor/plotly.min.js" in chart  # drawn by the one chart helper
    numbers = chart.split("<tbody>")[1].split("</tbody>")[0]
    assert numbers.count("<tr>") == 6  # one row per month beside the chart
    assert "<td>4,200</td>" in numbers.split("</tr>")[0] and "<td>5,000</td>" in numbers.split("</tr>")[0]
    assert 'data-testid="forecast-owners"' in html and "Sam Seller" in html
    assert "4,200" in html  # 7 deals × 1000 × 60% in the first month
    assert client.get(reverse("deal-forecast"), {"months": "abc", "currency": "x"}).status_code == 200


def test_team_targets_count_only_where_no_owner_target_exists(pipelines, admin_user, sales_user):
    from tests.factories import TeamFactory

    first = month_start(timezone.localdate())
    team = TeamFactory()
    SalesTarget.objects.create(team=team, month=first, amount=Decimal("900"))
    SalesTarget.objects.create(owner=sales_user, month=first, amount=Decimal("100"))
    SalesTarget.objects.create(team=team, month=add_months(first, 1), amount=Decimal("700"))
    data = forecast(user=admin_user, months=2)
    assert [m.target for m in data.months] == [Decimal("100.00"), Decimal("700.00")]


def test_target_constraints(sales_user):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        SalesTarget.objects.create(owner=sales_user, month=date(2030, 1, 2), amount=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesTarget.objects.create(month=date(2030, 1, 1), amount=1)


def test_my_work_page_and_dashboard_section(client, pipelines, sales_user, django_assert_max_num_queries):
    sales, _ = pipelines
    today = timezone.localdate()
    mine = DealFactory(owner=sales_user, pipeline=sales, name="Closing soon", expected_close_date=today)
    DealFactory(owner=sales_user, pipeline=sales, name="Closing later", expected_close_date=add_months(today, 2))
    DealFactory(owner=sales_user, pipeline=sales, name="Already won", stage=stage(sales, "Won"),
                expected_close_date=today)
    TaskFactory(assignee=sales_user, deal=mine, subject="Overdue call", due_at=timezone.now() - timedelta(days=2))
    client.force_login(sales_user)
    with django_assert_max_num_queries(8):
        html = client.get(reverse("my-work"), headers={"HX-Request": "true"}).content.decode()
    assert "Closing soon" in html and "Closing later" not in html and "Already won" not in html
    assert "Overdue call" in html and 'class="overdue' in html
    assert "<html" not in html
    dashboard = client.get(reverse("home")).content.decode()
    assert 'data-testid="dashboard-my-work"' in dashboard and reverse("my-work") in dashboard
    full = client.get(reverse("my-work")).content.decode()
    assert "<html" in full and "My tasks (today/overdue)" in full
