"""Where reps see lead scores: the contact list (sortable, filterable, with the "why"), the contact page, deal
cards on the board and My work, each within a query budget; and crm never needs segments to do it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cdp.models import Profile
from segments.models import ScoreModel
from segments.services.scoring import score_model_rescore
from tests.crm.deal_factories import DealFactory, TaskFactory, make_pipeline
from tests.crm.factories import ContactFactory

pytestmark = pytest.mark.django_db

ITEMS = [
    {"label": "VIP tag", "points": 40, "condition": {"type": "contact", "field": "tags", "op": "contains",
                                                     "value": "vip"}},
    {"label": "Customer", "points": 25, "condition": {"type": "contact", "field": "lifecycle_stage",
                                                      "op": "equals", "value": "customer"}},
    {"label": "Pro plan", "points": 10, "condition": {"type": "trait", "key": "plan", "op": "equals",
                                                      "value": "pro"}},
]


@pytest.fixture
def scored(sales_user):
    """12 contacts of the rep with linked profiles: scores 0, 10, 25, 35, 40, ... by their tags, stage, plan."""
    contacts = []
    for i in range(12):
        c = ContactFactory(first_name=f"C{i:02d}", last_name="Lead", owner=sales_user,
                           tags=["vip"] if i % 3 == 0 else [], lifecycle_stage="customer" if i % 2 else "lead")
        Profile.objects.create(crm_contact_id=c.pk, traits={"plan": "pro" if i % 4 == 0 else "free"})
        contacts.append(c)
    ScoreModel.objects.create(name="Fit", conditions=[ITEMS[2]])
    model = ScoreModel.objects.create(name="Engagement", conditions=ITEMS, is_default=True)
    for m in ScoreModel.objects.all():
        score_model_rescore(model_id=m.pk)
    expected = {c.pk: 40 * (i % 3 == 0) + 25 * (i % 2 == 1) + 10 * (i % 4 == 0) for i, c in enumerate(contacts)}
    return model, contacts, expected


def test_contact_list_sorts_and_filters_by_score_with_the_why(sales_client, scored, django_assert_max_num_queries):
    _model, contacts, expected = scored
    url = reverse("contact-list")
    with django_assert_max_num_queries(14):
        response = sales_client.get(url, {"sort": "-score"})
    got = [c.pk for c in response.context["page"].object_list]
    assert [expected[pk] for pk in got] == sorted(expected.values(), reverse=True)
    first = response.context["page"].object_list[0]
    assert first.lead_score.value == Decimal(65)
    assert dict(first.lead_score.why) == {"VIP tag": 40, "Customer": 25}
    html = response.content.decode()
    assert "Engagement score — VIP tag: +40; Customer: +25" in html
    with django_assert_max_num_queries(14):
        response = sales_client.get(url, {"score_min": "40", "sort": "score"})
    rows = response.context["page"].object_list
    assert {c.pk for c in rows} == {pk for pk, s in expected.items() if s >= 40}
    assert [expected[c.pk] for c in rows] == sorted(expected[c.pk] for c in rows)


def test_contact_page_shows_every_models_score_and_why(sales_client, scored):
    _model, contacts, _expected = scored
    response = sales_client.get(reverse("contact-detail", args=[contacts[3].pk]))  # vip, customer, free
    html = response.content.decode()
    assert 'data-testid="score-panel"' in html
    assert "VIP tag: +40" in html and "Customer: +25" in html and "Pro plan" not in html.split("Fit")[0]
    assert "No condition gives points yet." in html  # the Fit model: not on the pro plan


def test_board_cards_and_my_work_show_the_best_contact_score(sales_client, sales_user, scored,
                                                             django_assert_max_num_queries):
    _model, contacts, _expected = scored
    pipeline = make_pipeline()
    deal = DealFactory(owner=sales_user, pipeline=pipeline, name="Big one",
                       expected_close_date=timezone.localdate())
    deal.contacts.set([contacts[1], contacts[0]])  # scores 25 and 50: the card shows 50
    DealFactory(owner=sales_user, pipeline=pipeline, name="Nobody")
    with django_assert_max_num_queries(16):
        response = sales_client.get(reverse("deal-board"), {"pipeline": pipeline.pk})
    html = response.content.decode()
    card = html.split("Big one")[1].split("</article>")[0]
    assert 'data-testid="lead-score"' in html and "VIP tag: +40; Pro plan: +10" in html
    assert ">50<" in card
    assert "lead-score" not in html.split("Nobody")[1].split("</article>")[0]
    TaskFactory(assignee=sales_user, deal=None, contact=contacts[5], subject="Call C05",
                due_at=timezone.now() + dt.timedelta(minutes=5))
    with django_assert_max_num_queries(14):
        response = sales_client.get(reverse("my-work"))
    html = response.content.decode()
    assert ">50<" in html.split("Big one")[1].split("</tr>")[0]
    assert "Customer: +25" in html.split("Call C05")[1].split("</li>")[0]


def test_crm_pages_work_without_any_score_model(sales_client, sales_user):
    ContactFactory(first_name="Solo", owner=sales_user)
    response = sales_client.get(reverse("contact-list"), {"sort": "-score"})
    assert response.status_code == 200 and "Solo" in response.content.decode()
    assert 'data-testid="lead-score"' not in response.content.decode()
