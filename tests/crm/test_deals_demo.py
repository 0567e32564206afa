import pytest
from django.utils import timezone

from crm.demo import demo_seed
from crm.models import Activity, Deal, DealStageChange, OutboxEntry, Pipeline, SalesTarget
from crm.selectors.activities import my_tasks
from crm.selectors.deals import my_deals_closing_this_month

pytestmark = pytest.mark.django_db


def test_demo_seed_creates_a_lively_sales_setup_once():
    demo_seed()
    assert sorted(Pipeline.objects.values_list("name", flat=True)) == ["Partnerships", "Sales"]
    assert Pipeline.objects.get(is_default=True).name == "Sales"
    deals = Deal.objects.all()
    assert deals.count() == 60
    assert set(deals.values_list("owner__username", flat=True)) == {"sales", "sales2"}
    assert set(deals.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert deals.filter(pipeline__name="Partnerships").exists()
    assert deals.filter(expected_close_date__gt=timezone.localdate()).values("expected_close_date__month").distinct(
        ).count() >= 4
    assert DealStageChange.objects.count() > 60
    assert OutboxEntry.objects.filter(object_type="deal").count() >= 60
    sam = deals.filter(owner__username="sales").first().owner
    tasks = my_tasks(user=sam)
    assert tasks["overdue"] and (tasks["today"] or len(tasks["overdue"]) > 1)
    assert Activity.objects.filter(kind="call").count() == 60
    assert my_deals_closing_this_month(user=sam).exists()
    assert SalesTarget.objects.count() == 12
    demo_seed()
    assert Deal.objects.count() == 60 and SalesTarget.objects.count() == 12
