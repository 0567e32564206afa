import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from crm.models import Deal, DealStageChange
from crm.services.deals import deal_create
from tests.crm.deal_factories import DealFactory, make_pipeline, stage
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline():
    return make_pipeline()


def test_list_shows_only_visible_deals_with_constant_queries(client, pipeline, sales_user,
                                                              django_assert_max_num_queries):
    company = CompanyFactory(owner=sales_user)
    for i in range(60):
        DealFactory(owner=sales_user, pipeline=pipeline, name=f"Mine {i:02}", company=company)
    DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline, name="Theirs")
    client.force_login(sales_user)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("deal-list"), {"sort": "name"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Mine 00" in html and "Mine 49" in html and "Mine 50" not in html and "Theirs" not in html
    assert "Page 1 of 2 · 60 deals" in html
    page2 = client.get(reverse("deal-list"), {"sort": "name", "page": 2}).content.decode()
    assert "Mine 50" in page2 and "Mine 00" not in page2


def test_list_filters_and_sorts(client, pipeline, sales_user):
    DealFactory(owner=sales_user, pipeline=pipeline, name="Small", amount=10, expected_close_date=date(2030, 1, 5))
    DealFactory(owner=sales_user, pipeline=pipeline, name="Large", amount=900, expected_close_date=date(2030, 3, 5),
                stage=stage(pipeline, "Won"))
    client.force_login(sales_user)
    html = client.get(reverse("deal-list"), {"sort": "-amount"}).content.decode()
    assert html.index("Large") < html.index("Small")
    html = client.get(reverse("deal-list"), {"status": "won"}).content.decode()
    assert "Large" in html and "Small" not in html
    html = client.get(reverse("deal-list"), {"close_from": "2030-01-01", "close_to": "2030-01-31"}).content.decode()
    assert "Small" in html and "Large" not in html
    html = client.get(reverse("deal-list"), {"q": "larg"}).content.decode()
    assert "Large" in html and "Small" not in html
    assert client.get(reverse("deal-list"), {"sort": "bogus", "close_from": "nope"}).status_code == 200


def test_csv_export_respects_filters_and_scope(client, pipeline, sales_user):
    DealFactory(owner=sales_user, pipeline=pipeline, name="Won one", stage=stage(pipeline, "Won"), amount=5)
    DealFactory(owner=sales_user, pipeline=pipeline, name="Open one")
    DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline, name="Other won", stage=stage(pipeline, "Won"))
    client.force_login(sales_user)
    response = client.get(reverse("deal-export"), {"status": "won"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "name", "pipeline"]
    assert [r[1] for r in rows[1:]] == ["Won one"]
    assert rows[1][4:7] == ["won", "5.00", "EUR"]


def test_create_deal_through_form(client, pipeline, sales_user):
    contact = ContactFactory(owner=sales_user, first_name="Lena", last_name="Lund")
    client.force_login(sales_user)
    page = client.get(reverse("deal-create"), {"contact": contact.pk}).content.decode()
    assert "Lena Lund" in page
    response = client.post(reverse("deal-create"), {
        "name": "Website relaunch", "pipeline": pipeline.pk, "amount": "12000", "currency": "eur",
        "expected_close_date": "2030-02-01", "contacts": [contact.pk], "owner": sales_user.pk,
    })
    deal = Deal.objects.get(name="Website relaunch")
    assert response.status_code == 302 and response["Location"] == reverse("deal-detail", args=[deal.pk])
    assert deal.owner == sales_user and list(deal.contacts.all()) == [contact] and deal.stage.name == "Lead"


def test_create_form_errors_are_shown_not_500(client, pipeline, sales_user):
    other = make_pipeline("Other", is_default=False)
    client.force_login(sales_user)
    response = client.post(reverse("deal-create"), {"name": "X", "pipeline": pipeline.pk, "amount": "1",
                                                    "currency": "EU", "stage": stage(other, "Lead").pk})
    assert response.status_code == 200
    assert "another pipeline" in response.content.decode() or "ISO" in response.content.decode()
    assert not Deal.objects.exists()


def test_read_only_users_cannot_create_or_edit(client, pipeline, sales_user, support_user):
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    client.force_login(support_user)
    assert client.get(reverse("deal-create")).status_code == 403
    detail = client.get(reverse("deal-detail", args=[deal.pk]))
    assert detail.status_code == 200 and 'data-testid="deal-edit"' not in detail.content.decode()
    assert client.get(reverse("deal-edit", args=[deal.pk])).status_code == 403
    client.post(reverse("deal-won", args=[deal.pk]))
    deal.refresh_from_db()
    assert deal.status == "open"


def test_other_reps_deal_is_404(client, pipeline, sales_user):
    deal = DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline)
    client.force_login(sales_user)
    for name in ("deal-detail", "deal-edit", "deal-fields"):
        assert client.get(reverse(name, args=[deal.pk])).status_code == 404
    assert client.post(reverse("deal-won", args=[deal.pk])).status_code == 404


def test_detail_shows_fields_timeline_and_log_form(client, pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Timeline deal", pipeline=pipeline, amount=100)
    client.force_login(sales_user)
    client.post(reverse("deal-stage", args=[deal.pk]), {"stage": stage(pipeline, "Proposal").pk})
    html = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    assert "Timeline deal" in html and 'data-testid="deal-stage">Proposal' in html
    assert "Stage Lead → Proposal" in html and "Deal created in Lead" in html
    assert 'data-testid="activity-log"' in html


def test_inline_edit_with_htmx_returns_fields_box(client, pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Edit me", pipeline=pipeline, amount=100)
    client.force_login(sales_user)
    form = client.get(reverse("deal-edit", args=[deal.pk]), headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="deal-edit-form"' in form and "Edit me" in form
    response = client.post(reverse("deal-edit", args=[deal.pk]), {
        "name": "Edited", "pipeline": pipeline.pk, "amount": "250.50", "currency": "USD", "probability": "42",
        "owner": sales_user.pk,
    }, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'data-testid="deal-fields"' in html and "250.50 USD" in html and "42%" in html
    deal.refresh_from_db()
    assert (deal.name, deal.probability, deal.probability_overridden) == ("Edited", 42, True)
    bad = client.post(reverse("deal-edit", args=[deal.pk]), {"name": "", "pipeline": pipeline.pk, "amount": "x",
                                                               "currency": "USD"}, headers={"HX-Request": "true"})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()


def test_won_and_lost_buttons(client, pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Close me", pipeline=pipeline)
    client.force_login(sales_user)
    response = client.post(reverse("deal-lost", args=[deal.pk]), {"lost_reason": ""}, follow=True)
    assert "Say why the deal was lost" in response.content.decode()
    client.post(reverse("deal-lost", args=[deal.pk]), {"lost_reason": "No budget"})
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", "No budget")
    client.post(reverse("deal-won", args=[deal.pk]))
    deal.refresh_from_db()
    assert deal.status == "won" and deal.lost_reason == ""
    assert DealStageChange.objects.filter(deal=deal).count() == 3


def test_admin_pages_of_sales_models_load(client, admin_user, pipeline, sales_user):
    from crm.models import SalesTarget
    from tests.crm.deal_factories import TaskFactory

    deal = deal_create(user=sales_user, name="Admin view", pipeline=pipeline)
    TaskFactory(deal=deal, assignee=sales_user)
    SalesTarget.objects.create(owner=sales_user, month=date(2030, 1, 1), amount=100)
    client.force_login(admin_user)
    for name in ("pipeline", "stage", "deal", "dealstagechange", "activity", "salestarget"):
        response = client.get(f"/admin/crm/{name}/")
        assert response.status_code == 200, name
    assert client.get(f"/admin/crm/deal/{deal.pk}/change/").status_code == 200
    assert client.get(f"/admin/crm/pipeline/{pipeline.pk}/change/").status_code == 200
    assert client.get("/admin/crm/deal/add/").status_code == 403  # deals change through the services
    response = client.post(f"/admin/crm/stage/{stage(pipeline, 'Lead').pk}/change/", {
        "pipeline": pipeline.pk, "name": "Lead", "order": 0, "probability": 20})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.probability == 20


def test_contact_page_shows_its_deals_panel_with_new_deal_link(client, pipeline, sales_user):
    contact = ContactFactory(owner=sales_user)
    deal = DealFactory(owner=sales_user, pipeline=pipeline, name="Panel deal")
    deal.contacts.add(contact)
    DealFactory(owner=UserFactory(role="Sales"), pipeline=pipeline, name="Hidden deal").contacts.add(contact)
    client.force_login(sales_user)
    html = client.get(f"/crm/contacts/{contact.pk}/").content.decode()
    assert 'data-testid="contact-deals"' in html and "Panel deal" in html and "Hidden deal" not in html
    assert f"/crm/deals/new/?contact={contact.pk}" in html


def test_inline_edit_keeps_links_to_contacts_the_editor_cannot_see(client, pipeline, sales_user):
    mine = ContactFactory(owner=sales_user)
    theirs = ContactFactory(owner=UserFactory(role="Sales"))
    their_company = CompanyFactory(owner=UserFactory(role="Sales"))
    deal = DealFactory(owner=sales_user, pipeline=pipeline, company=their_company)
    deal.contacts.add(mine, theirs)
    client.force_login(sales_user)
    response = client.post(reverse("deal-edit", args=[deal.pk]), {
        "name": "Renamed", "pipeline": pipeline.pk, "amount": "1", "currency": "EUR", "owner": sales_user.pk,
        "contacts": [],
    })
    assert response.status_code == 302
    assert list(deal.contacts.all()) == [theirs]
    deal.refresh_from_db()
    assert deal.company == their_company and deal.name == "Renamed"
