"""What contacts, companies and deals share: one tag cleaner, one assignment check with one error."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from crm.services.companies import company_create, company_update
from crm.services.contacts import contact_create, contact_update
from crm.services.deals import deal_create
from crm.services.merge import contact_merge
from crm.services.records import FieldErrors, tags_clean
from tests.crm.deal_factories import make_pipeline
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

REFUSED = {"owner": ["You may not assign records to this owner."]}


def test_tags_are_cleaned_the_same_way_everywhere(sales_user):
    raw = ["  VIP  ", "vip", "Big   Deal", "", None, "x" * 60]
    expected = ["vip", "big deal", "x" * 50]
    assert tags_clean(raw) == expected
    assert contact_create(actor=sales_user, first_name="A", tags=raw).tags == expected
    assert company_create(actor=sales_user, name="Acme", tags=raw).tags == expected


def test_one_assignment_check_refuses_the_same_way_for_every_record(sales_user):
    stranger = UserFactory(role="Sales")
    contact = ContactFactory(owner=sales_user)
    company = CompanyFactory(owner=sales_user)
    attempts = [
        lambda: contact_create(actor=sales_user, first_name="A", owner=stranger),
        lambda: contact_update(contact=contact, actor=sales_user, changes={"owner": stranger}),
        lambda: company_create(actor=sales_user, name="Acme", owner=stranger),
        lambda: company_update(company=company, actor=sales_user, changes={"owner": stranger}),
        lambda: deal_create(user=sales_user, name="X", pipeline=make_pipeline("Sales"), owner=stranger),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert refused.value.message_dict == REFUSED


def test_merge_takes_the_other_owner_only_if_the_actor_may_assign_it(sales_user):
    stranger = UserFactory(role="Sales")
    team = TeamFactory()
    team.members.add(sales_user, stranger)
    sales_user = type(sales_user).objects.get(pk=sales_user.pk)  # team ids are cached per user object
    survivor = ContactFactory(owner=sales_user, first_name="Ann")
    other = ContactFactory(owner=stranger, team=team, first_name="Anne")
    with pytest.raises(ValidationError) as refused:
        contact_merge(survivor=survivor, other=other, field_choices={"owner": "other"}, actor=sales_user)
    assert refused.value.message_dict == REFUSED
    merged = contact_merge(survivor=survivor, other=other, field_choices={"first_name": "other"}, actor=sales_user)
    assert (merged.survivor.first_name, merged.survivor.owner) == ("Anne", sales_user)


def test_field_errors_gather_every_field_then_raise_once():
    errors = FieldErrors()
    with errors.collect(prefix="custom."):
        raise ValidationError({"seats": ["Enter a number."]})
    with errors.collect():
        pass
    errors.add("first_name", "Enter a name.")
    assert bool(errors)
    with pytest.raises(ValidationError) as raised:
        errors.raise_if_any()
    assert raised.value.message_dict == {"custom.seats": ["Enter a number."], "first_name": ["Enter a name."]}
    FieldErrors().raise_if_any()  # nothing gathered: no error
