"""Contact pages: list with search/filters/sort/pagination, htmx partials, forms, detail, inline edit, export."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Contact, LifecycleChange, SavedView
from crm.services.contacts import contact_update
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_list_searches_name_email_phone_and_company(sales_client, sales_user):
    acme = CompanyFactory(name="Acme Rockets", owner=sales_user)
    ContactFactory(first_name="Jane", last_name="Doe", owner=sales_user, email="jane@doe.example")
    ContactFactory(first_name="Bob", last_name="Stone", owner=sales_user, company=acme, phones=["+49301234567"])
    ContactFactory(first_name="Zed", last_name="Other", owner=sales_user, email="zed@elsewhere.example")
    url = reverse("contact-list")

    def names(q):
        response = sales_client.get(url, {"q": q})
        assert response.status_code == 200
        return sorted(c.first_name for c in response.context["page"].object_list)

    assert names("jane") == ["Jane"]
    assert names("DOE.EXAMPLE") == ["Jane"]
    assert names("rockets") == ["Bob"]
    assert names("030 1234567".replace("030", "30")) == ["Bob"]
    assert names("jane doe") == ["Jane"]
    assert names("") == ["Bob", "Jane", "Zed"]


def test_list_filters_sorts_and_paginates_with_constant_queries(sales_client, sales_user,
                                                                 django_assert_max_num_queries):
    company = CompanyFactory(owner=sales_user)
    for i in range(60):
        ContactFactory(first_name=f"P{i:02d}", last_name="Person", owner=sales_user, company=company,
                       lifecycle_stage="customer" if i % 2 else "lead", tags=["vip"] if i % 3 == 0 else [])
    url = reverse("contact-list")
    # 13: the list includes the page's lead scores (one query, through crm.extensions).
    with django_assert_max_num_queries(13):
        response = sales_client.get(url, {"sort": "-name"})
    page = response.context["page"]
    assert page.paginator.count == 60 and len(page.object_list) == 50
    assert page.object_list[0].first_name == "P59"
    with django_assert_max_num_queries(13):
        response = sales_client.get(url, {"lifecycle": "customer", "tag": "vip", "page": 1})
    got = {c.first_name for c in response.context["page"].object_list}
    assert got == {f"P{i:02d}" for i in range(60) if i % 2 and i % 3 == 0}
    assert b"P03" in response.content


def test_htmx_search_returns_only_the_results_partial(sales_client, sales_user):
    ContactFactory(first_name="Jane", owner=sales_user)
    response = sales_client.get(reverse("contact-list"), {"q": "jan"}, HTTP_HX_REQUEST="true",
                                HTTP_HX_TARGET="contact-results")
    body = response.content.decode()
    assert "Jane" in body and "<html" not in body and 'data-testid="contact-table"' in body


def test_custom_field_filter(sales_client, sales_user):
    CustomFieldDefinitionFactory(key="tier", field_type="choice", choices=["Gold", "Silver"])
    CustomFieldDefinitionFactory(key="seats", field_type="number")
    ContactFactory(first_name="Gold", owner=sales_user, custom={"tier": "Gold", "seats": 10})
    ContactFactory(first_name="Silver", owner=sales_user, custom={"tier": "Silver", "seats": 3})
    response = sales_client.get(reverse("contact-list"), {"cf_tier": "Gold"})
    assert [c.first_name for c in response.context["page"].object_list] == ["Gold"]
    response = sales_client.get(reverse("contact-list"), {"cf_seats": "3"})
    assert [c.first_name for c in response.context["page"].object_list] == ["Silver"]
    response = sales_client.get(reverse("contact-list"), {"cf_seats": "many"})
    assert response.status_code == 200 and "cf_seats" in response.context["filter_errors"]


def test_create_contact_page_with_form_errors_then_success(sales_client, sales_user):
    company = CompanyFactory(name="Globex", domain="globex.example", owner=sales_user)
    url = reverse("contact-new")
    assert sales_client.get(url).status_code == 200
    response = sales_client.post(url, {"first_name": "Ann", "emails": "bad-email", "phones": "12",
                                       "lifecycle_stage": "lead"})
    assert response.status_code == 200
    form = response.context["form"]
    assert "emails" in form.errors and "phones" in form.errors
    assert not Contact.objects.exists()
    response = sales_client.post(url, {
        "first_name": "Ann", "last_name": "Lee", "emails": "ann@globex.example", "phones": "+49 30 1234567 (work)",
        "lifecycle_stage": "sales_qualified", "company": "Globex (globex.example)", "tags": "vip, expo",
        "owner": sales_user.pk,
    })
    contact = Contact.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("contact-detail", args=[contact.pk])
    assert contact.company == company and contact.phone == "+49301234567" and contact.tags == ["vip", "expo"]
    assert contact.phones.get().kind == "work"


def test_unknown_company_name_is_a_form_error(sales_client):
    response = sales_client.post(reverse("contact-new"), {"first_name": "A", "company": "Nowhere Inc",
                                                          "lifecycle_stage": "lead"})
    assert "No company named" in response.context["form"].errors["company"][0]


def test_detail_shows_fields_custom_fields_and_timeline(sales_client, sales_user):
    CustomFieldDefinitionFactory(key="tier", label="Tier", field_type="text")
    contact = ContactFactory(first_name="Jane", last_name="Doe", owner=sales_user, custom={"tier": "Gold"})
    contact_update(contact=contact, actor=sales_user, changes={"title": "CTO", "lifecycle_stage": "customer"})
    response = sales_client.get(reverse("contact-detail", args=[contact.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Tier" in body and "Gold" in body
    assert "Lifecycle: Lead → Customer" in body
    assert "Title" in body and "CTO" in body
    timeline = response.context["timeline"]
    history = [e for e in timeline if e.kind == "history" and e.extra["changes"]]
    assert any(c["field"] == "Title" and c["old"] == "—" and c["new"] == "CTO" for c in history[0].extra["changes"])
    assert history[0].actor == "Sam Seller"
    assert f'href="/crm/contacts/{contact.pk}/edit/"' in body


def test_inline_edit_saves_and_returns_the_row(sales_client, sales_user):
    contact = ContactFactory(owner=sales_user, lifecycle_stage="lead")
    url = reverse("contact-inline", args=[contact.pk, "lifecycle_stage"])
    form = sales_client.get(url, HTTP_HX_REQUEST="true")
    assert b'name="value"' in form.content
    response = sales_client.post(url, {"value": "opportunity"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Opportunity" in response.content
    assert response["HX-Trigger"] == "timeline-changed"
    assert LifecycleChange.objects.filter(contact=contact, to_stage="opportunity").exists()
    bad = sales_client.post(reverse("contact-inline", args=[contact.pk, "lifecycle_stage"]), {"value": "zzz"},
                            HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and b"not a lifecycle stage" in bad.content
    assert sales_client.get(reverse("contact-inline", args=[contact.pk, "created_at"])).status_code == 404


def test_inline_owner_change_is_checked_by_the_service(sales_client, sales_user):
    contact = ContactFactory(owner=sales_user)
    other_rep = UserFactory(username="other-rep")
    url = reverse("contact-inline", args=[contact.pk, "owner"])
    refused = sales_client.post(url, {"value": str(other_rep.pk)}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and b"You may not assign records to this owner." in refused.content
    unknown = sales_client.post(url, {"value": "999999"}, HTTP_HX_REQUEST="true")
    assert unknown.status_code == 200 and b"There is no such active user." in unknown.content
    contact.refresh_from_db()
    assert contact.owner == sales_user
    kept = sales_client.post(url, {"value": str(sales_user.pk)}, HTTP_HX_REQUEST="true")
    assert kept.status_code == 200 and kept["HX-Trigger"] == "timeline-changed"


def test_bulk_action_from_list(sales_client, sales_user):
    contacts = [ContactFactory(owner=sales_user) for _ in range(3)]
    response = sales_client.post(reverse("contact-bulk"), {"action": "tag", "tag": "Expo",
                                                           "ids": [c.pk for c in contacts[:2]]})
    assert response.status_code == 302
    assert sorted(Contact.objects.filter(tags__contains=["expo"]).values_list("pk", flat=True)) == sorted(
        c.pk for c in contacts[:2])
    response = sales_client.post(reverse("contact-bulk"), {"action": "lifecycle", "ids": []}, follow=True)
    assert "Select at least one record" in response.content.decode()


def test_export_streams_csv_of_current_filter_respecting_visibility(sales_client, sales_user):
    ContactFactory(first_name="Mine", owner=sales_user, lifecycle_stage="customer", email="mine@example.com")
    ContactFactory(first_name="MineLead", owner=sales_user, lifecycle_stage="lead")
    ContactFactory(first_name="Theirs", owner=UserFactory(role="Sales"), lifecycle_stage="customer")
    response = sales_client.get(reverse("contact-export"), {"lifecycle": "customer"})
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["first_name"] for r in rows] == ["Mine"]
    assert rows[0]["email"] == "mine@example.com" and rows[0]["owner"] == sales_user.username


def test_saved_views_per_user(sales_client, sales_user, admin_user):
    client = Client()
    response = sales_client.post(reverse("saved-view-create", args=["contact"]),
                                 {"name": "My customers", "query_string": "lifecycle=customer&page=3"})
    assert response.status_code == 302
    view = SavedView.objects.get(user=sales_user)
    assert view.query_string == "lifecycle=customer"
    listing = sales_client.get(reverse("contact-list"))
    assert b"My customers" in listing.content
    client.force_login(admin_user)
    assert b"My customers" not in client.get(reverse("contact-list")).content
    assert client.post(reverse("saved-view-delete", args=[view.pk])).status_code == 404
    assert sales_client.post(reverse("saved-view-delete", args=[view.pk])).status_code == 302
    assert not SavedView.objects.exists()


def test_read_only_roles_get_no_bulk_actions_or_create_button_but_can_filter_by_any_owner(client, marketing_user):
    rep = UserFactory(role="Sales", first_name="Rita", last_name="Rep")
    ContactFactory(owner=rep, first_name="Owned")
    client.force_login(marketing_user)
    response = client.get(reverse("contact-list"))
    body = response.content.decode()
    assert "Owned" in body
    assert 'data-testid="bulk-bar"' not in body and 'data-testid="new-contact"' not in body
    assert f'<option value="{rep.pk}"' in body
    assert client.get(reverse("contact-new")).status_code == 403
    filtered = client.get(reverse("contact-list"), {"owner": rep.pk})
    assert [c.first_name for c in filtered.context["page"].object_list] == ["Owned"]


def test_detail_pages_show_related_deals_and_stay_within_a_query_budget(sales_client, sales_user,
                                                                        django_assert_max_num_queries):
    from tests.crm.deal_factories import DealFactory

    company = CompanyFactory(owner=sales_user, name="Initech")
    contact = ContactFactory(owner=sales_user, company=company, phones=["+49301234567"])
    for i in range(5):
        deal = DealFactory(name=f"Renewal {i}", owner=sales_user, company=company)
        deal.contacts.add(contact)
    hidden = DealFactory(name="Secret deal", owner=UserFactory(role="Sales"), company=company)
    hidden.contacts.add(contact)
    for i in range(5):
        contact_update(contact=contact, actor=sales_user, changes={"title": f"Title {i}"})
    with django_assert_max_num_queries(25):
        response = sales_client.get(reverse("contact-detail", args=[contact.pk]))
    body = response.content.decode()
    assert "Renewal 4" in body and "Secret deal" not in body  # the deals panel (registered by the deals code)
    with django_assert_max_num_queries(25):
        response = sales_client.get(reverse("company-detail", args=[company.pk]))
    body = response.content.decode()
    assert "Renewal 0" in body and "Secret deal" not in body
    assert f'href="/crm/contacts/new/?company={company.pk}"' in body
    form = sales_client.get(reverse("contact-new"), {"company": company.pk})
    assert 'value="Initech (' in form.content.decode()


def test_large_lists_show_a_capped_count_and_still_page(sales_client, sales_user, monkeypatch):
    from crm.views.list_support import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "COUNT_CAP", 30)
    for i in range(70):
        ContactFactory(owner=sales_user, first_name=f"N{i:02d}", last_name="Same")
    response = sales_client.get(reverse("contact-list"))
    assert "30+ contacts" in response.content.decode()
    assert response.context["page"].has_next()
    second = sales_client.get(reverse("contact-list"), {"page": 2})
    rows = [c.first_name for c in second.context["page"].object_list]
    assert rows == [f"N{i}" for i in range(50, 70)]  # past the cap nothing is cut off
    assert not second.context["page"].has_next()


def test_later_pages_read_their_ids_first_and_keep_order_and_scoping(sales_client, sales_user, monkeypatch):
    # Pages past DEFER_PAST rows read the page's ids (along the name index) and then its rows: same rows,
    # same order, still only the rep's contacts.
    from crm.selectors import contact_matches

    monkeypatch.setattr(contact_matches, "DEFER_PAST", 10)
    for i in range(60):
        ContactFactory(owner=sales_user, first_name=f"N{i:02d}", last_name="Same")
    for i in range(5):
        ContactFactory(first_name=f"N{i:02d}x", last_name="Same")  # another rep's
    second = sales_client.get(reverse("contact-list"), {"page": 2})
    assert [c.first_name for c in second.context["page"].object_list] == [f"N{i}" for i in range(50, 60)]
    descending = sales_client.get(reverse("contact-list"), {"page": 2, "sort": "-name"})
    assert [c.first_name for c in descending.context["page"].object_list] == [f"N{i:02d}" for i in range(9, -1, -1)]
