"""Where reps see lead scores: the contact list (sortable, filterable, with the "why"), the contact page, deal
cards on the board and My work, each within a query budget; and crm never needs segments to do it. The score
model editor page marketers use (its browser test: tests/e2e/test_score_editor.py)."""

from __future__ import annotations

import datetime as dt
import json
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


def test_score_model_editor_gives_rows_to_the_rule_builder_and_names_errors_per_row(client, marketing_user):
    """The editor page hands its rows (label, points, condition) and the rule builder's catalog to the editor
    script; a refused save comes back with the rows as posted and errors named by row, in words."""
    client.force_login(marketing_user)
    model = ScoreModel.objects.create(name="Fit", conditions=ITEMS[2:])
    page = client.get(reverse("segments:scoring-edit", args=[model.pk]))
    html = page.content.decode()
    assert 'id="score-rows"' in html and "js/score-editor.js" in html and "js/segments-builder.js" in html
    config = page.context["editor_config"]
    assert config["conditions"] == ITEMS[2:] and config["errors"] == [] and not config["invalid_json"]
    assert {"operators", "count_ops", "pipelines"} <= set(config["catalog"])
    posted = [{"label": "Pro plan", "points": "lots", "condition": ITEMS[2]["condition"]},
              {"label": "Viewed", "points": 5, "condition": {"type": "event", "event": "", "count": {
                  "op": "at_least", "value": 1}}}]
    bad = client.post(reverse("segments:scoring-edit", args=[model.pk]),
                      {"name": "Fit", "conditions": json.dumps(posted)})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "<strong>Condition 1, points</strong>" in html and "<strong>Condition 2, event</strong>" in html
    config = bad.context["editor_config"]
    assert config["conditions"] == posted  # the rows as the marketer left them
    assert {"conditions[0].points", "conditions[1].condition.event"} <= {e["path"] for e in config["errors"]}
    model.refresh_from_db()
    assert model.conditions == ITEMS[2:]  # nothing saved


def test_score_model_editor_keeps_invalid_json_as_typed(client, marketing_user):
    client.force_login(marketing_user)
    bad = client.post(reverse("segments:scoring-create"), {"name": "X", "conditions": '[{"label": '})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "<details open>" in html and "[{&quot;label&quot;: </textarea>" in html
    assert bad.context["editor_config"]["invalid_json"] and "Not valid JSON" in html
    weird = client.post(reverse("segments:scoring-create"), {"name": "Y", "half_life_days": "soon", "cap": "x",
                                                              "conditions": json.dumps(ITEMS[2:])})
    assert weird.status_code == 400 and "A half-life from 0.01" in weird.content.decode()
