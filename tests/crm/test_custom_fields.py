"""Custom field validation (shared with deals) and how custom fields appear on forms and in admin."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import Contact
from crm.services.custom_fields import custom_values_clean
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fields():
    return [
        CustomFieldDefinitionFactory(key="note", field_type="text"),
        CustomFieldDefinitionFactory(key="seats", field_type="number"),
        CustomFieldDefinitionFactory(key="renewal", field_type="date"),
        CustomFieldDefinitionFactory(key="tier", field_type="choice", choices=["Gold", "Silver"]),
        CustomFieldDefinitionFactory(key="partner", field_type="boolean"),
    ]


def test_values_are_coerced_to_their_stored_form(fields):
    cleaned = custom_values_clean(object_type="contact", values={
        "note": "  hello ", "seats": "1,200", "renewal": "2027-03-01", "tier": "silver", "partner": "yes"})
    assert cleaned == {"note": "hello", "seats": 1200, "renewal": "2027-03-01", "tier": "Silver", "partner": True}
    assert custom_values_clean(object_type="contact", values={"seats": 2.5})["seats"] == 2.5


@pytest.mark.parametrize("key, value, message", [
    ("seats", "many", "not a number"),
    ("seats", True, "Enter a number"),
    ("renewal", "03/01/2027", "YYYY-MM-DD"),
    ("tier", "Bronze", "not one of: Gold, Silver"),
    ("partner", "maybe", "not yes or no"),
    ("nope", "x", "no custom field"),
])
def test_bad_values_are_refused_with_a_message_per_key(fields, key, value, message):
    with pytest.raises(ValidationError) as info:
        custom_values_clean(object_type="contact", values={key: value})
    assert message in info.value.message_dict[key][0]


def test_required_fields_and_partial_updates(fields):
    CustomFieldDefinitionFactory(key="region", label="Region", field_type="text", required=True)
    with pytest.raises(ValidationError, match="Region is required"):
        custom_values_clean(object_type="contact", values={"seats": 3})
    merged = custom_values_clean(object_type="contact", values={"seats": 4}, existing={"region": "EU", "seats": 3})
    assert merged == {"region": "EU", "seats": 4}
    cleared = custom_values_clean(object_type="contact", values={"seats": ""}, existing=merged)
    assert cleared == {"region": "EU"}


def test_definitions_are_per_object_type(fields):
    CustomFieldDefinitionFactory(object_type="deal", key="budget", field_type="number")
    assert custom_values_clean(object_type="deal", values={"budget": "10"}) == {"budget": 10}
    with pytest.raises(ValidationError):
        custom_values_clean(object_type="company", values={"budget": "10"})


def test_custom_fields_on_the_contact_form(sales_client, sales_user, fields):
    response = sales_client.get(reverse("contact-new"))
    for definition in fields:
        assert f'name="cf_{definition.key}"' in response.content.decode()
    response = sales_client.post(reverse("contact-new"), {"first_name": "A", "lifecycle_stage": "lead",
                                                          "cf_tier": "Gold", "cf_seats": "12", "cf_partner": "true",
                                                          "cf_renewal": "2027-01-31"})
    assert response.status_code == 302
    assert Contact.objects.get().custom == {"tier": "Gold", "seats": 12, "partner": True, "renewal": "2027-01-31"}


def test_required_custom_field_error_shows_on_the_form(sales_client, sales_user):
    CustomFieldDefinitionFactory(key="region", label="Region", field_type="text", required=True)
    response = sales_client.post(reverse("contact-new"), {"first_name": "A", "lifecycle_stage": "lead"})
    assert response.status_code == 200
    assert response.context["form"].errors["cf_region"] == ["Region is required."]


def test_inline_edit_of_a_custom_field(sales_client, sales_user, fields):
    contact = ContactFactory(owner=sales_user)
    url = reverse("contact-inline", args=[contact.pk, "cf_seats"])
    response = sales_client.post(url, {"value": "lots"})
    assert "not a number" in response.content.decode()
    response = sales_client.post(url, {"value": "7"})
    assert 'data-testid="field-cf_seats">7<' in response.content.decode()
    contact.refresh_from_db()
    assert contact.custom == {"seats": 7}


def test_company_custom_fields_on_detail(sales_client, sales_user):
    CustomFieldDefinitionFactory(object_type="company", key="arr", label="ARR", field_type="number")
    company = CompanyFactory(owner=sales_user, custom={"arr": 125000})
    body = sales_client.get(reverse("company-detail", args=[company.pk])).content.decode()
    assert "ARR" in body and "125000" in body


def test_admin_pages_for_definitions_contacts_and_companies(client, admin_user, fields):
    client.force_login(admin_user)
    ContactFactory(first_name="Jane")
    CompanyFactory(name="Acme")
    for name in ("customfielddefinition", "contact", "company", "lifecyclechange", "savedview"):
        response = client.get(reverse(f"admin:crm_{name}_changelist"), {"q": "a"})
        assert response.status_code == 200, name
    contact = Contact.objects.get()
    assert client.get(reverse("admin:crm_contact_history", args=[contact.pk])).status_code == 200
