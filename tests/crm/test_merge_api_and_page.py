"""The merge action in the API (POST /api/crm/contacts/{id}/merge/) and the merge form of the compare page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from crm.models import Activity, Company, Contact, ContactMerge
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(sales_user):
    client = APIClient()
    client.force_authenticate(sales_user)
    return client


def _url(pk):
    return reverse("api-contact-merge", args=[pk])


def test_api_merge(api, sales_user):
    survivor = ContactFactory(first_name="Ann", owner=sales_user, email="ann@example.com")
    other = ContactFactory(first_name="Anne", owner=sales_user, email="anne@example.com", title="CTO")
    Activity.objects.create(kind="note", subject="theirs", contact=other)
    response = api.post(_url(survivor.pk), {"other": other.pk, "field_choices": {"first_name": "other"}},
                        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["survivor"], body["merged"], body["moved"]) == (survivor.pk, other.pk, {
        "crm.Activity.contact": 1, "crm.ContactEmail.contact": 1})
    assert body["record"]["first_name"] == "Anne" and body["record"]["title"] == "CTO"
    assert sorted(body["record"]["emails"]) == ["ann@example.com", "anne@example.com"]
    assert ContactMerge.objects.get().merged_by == sales_user
    assert not Contact.objects.filter(pk=other.pk).exists()


def test_api_merge_errors(api, sales_user, marketing_user):
    mine = ContactFactory(owner=sales_user)
    mine2 = ContactFactory(owner=sales_user)
    theirs = ContactFactory(owner=UserFactory(role="Sales"))
    # A survivor one cannot see: 404; an other one cannot see: 400 naming "other".
    response = api.post(_url(theirs.pk), {"other": mine.pk}, format="json")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    response = api.post(_url(mine.pk), {"other": theirs.pk}, format="json")
    assert response.status_code == 400 and "other" in response.json()["detail"]
    response = api.post(_url(mine.pk), {"other": mine2.pk, "field_choices": {"first_name": "mine"}}, format="json")
    assert response.status_code == 400 and "field_choices" in response.json()["detail"]
    response = api.post(_url(mine.pk), {"other": mine.pk}, format="json")
    assert response.status_code == 400
    response = api.post(_url(mine.pk), {}, format="json")
    assert response.status_code == 400
    # Marketing sees every contact but edits none: 403.
    api.force_authenticate(marketing_user)
    response = api.post(_url(mine.pk), {"other": mine2.pk}, format="json")
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    assert Contact.objects.count() == 3
    api.force_authenticate(None)
    assert api.post(_url(mine.pk), {"other": mine2.pk}, format="json").status_code in (401, 403)


def test_api_company_merge(api, sales_user):
    keep = CompanyFactory(owner=sales_user)
    drop = CompanyFactory(owner=sales_user)
    ContactFactory(owner=sales_user, company=drop)
    response = api.post(reverse("api-company-merge", args=[keep.pk]), {"other": drop.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["moved"] == {"crm.Contact.company": 1}
    assert list(Company.objects.values_list("pk", flat=True)) == [keep.pk]


def test_merge_action_is_in_the_openapi_schema(client, admin_user):
    client.force_login(admin_user)
    schema = client.get(reverse("api-schema")).content.decode()
    assert "/api/crm/contacts/{id}/merge/" in schema or "/api/crm/contacts/{pk}/merge/" in schema


def test_merge_form_keeps_the_chosen_record_and_values(sales_client, sales_user):
    a = ContactFactory(first_name="Ann", last_name="Lee", owner=sales_user, email="ann@example.com")
    b = ContactFactory(first_name="Anne", last_name="Lee", owner=sales_user, email="anne@example.com", title="CTO")
    Activity.objects.create(kind="note", subject="on a", contact=a)
    # Keep b as the main record, but take a's first name.
    response = sales_client.post(reverse("duplicate-compare", args=[a.pk, b.pk]),
                                 {"keep": "b", "pick_first_name": "a", "pick_email": "b", "pick_title": "b"})
    assert response.status_code == 302 and response.url == reverse("contact-detail", args=[b.pk])
    b.refresh_from_db()
    assert (b.first_name, b.title, b.email) == ("Ann", "CTO", "anne@example.com")
    assert not Contact.objects.filter(pk=a.pk).exists()
    assert Activity.objects.get().contact_id == b.pk
    assert ContactMerge.objects.get().field_choices == {"first_name": "other", "email": "survivor", "title": "survivor"}
