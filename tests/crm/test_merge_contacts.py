"""Merging contacts: every relation moves, emails/phones/tags unite, field choices, history, outbox, permissions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crm.models import Activity, Contact, ContactMerge, Deal, LifecycleChange, OutboxEntry
from crm.services.merge import company_merge, contact_merge
from tests.crm.deal_factories import DealFactory
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _note(contact, subject):
    return Activity.objects.create(kind=Activity.Kind.NOTE, subject=subject, contact=contact)


@pytest.fixture
def pair(sales_user):
    acme = CompanyFactory(name="Acme")
    survivor = ContactFactory(first_name="Ann", last_name="Lee", title="", email="ann@example.com",
                              owner=sales_user, company=acme, tags=["vip"], phones=["+49301111111"],
                              custom={"tier": "gold"})
    other = ContactFactory(first_name="Anne", last_name="Lee", title="CTO", email="anne@example.com",
                           owner=sales_user, tags=["berlin", "vip"], phones=["+49302222222", "+49301111111"],
                           lifecycle_stage="customer", custom={"tier": "silver", "seats": 5})
    other.emails.create(email="ann@example.com")  # the same address as the survivor's primary
    return survivor, other


def test_merge_keeps_activities_deals_and_lifecycle_history_of_both(pair, sales_user):
    survivor, other = pair
    mine, theirs = _note(survivor, "mine"), _note(other, "theirs")
    shared_deal, their_deal = DealFactory(), DealFactory()
    shared_deal.contacts.add(survivor, other)
    their_deal.contacts.add(other)
    LifecycleChange.objects.create(contact=other, from_stage="lead", to_stage="customer")
    other_id = other.pk

    record = contact_merge(survivor=survivor, other=other, field_choices={}, actor=sales_user)

    assert not Contact.objects.filter(pk=other_id).exists()
    assert set(Activity.objects.filter(contact=survivor).values_list("pk", flat=True)) == {mine.pk, theirs.pk}
    assert set(survivor.deals.values_list("pk", flat=True)) == {shared_deal.pk, their_deal.pk}
    assert shared_deal.contacts.count() == 1  # the duplicate link was dropped, not the deal
    assert Deal.objects.count() == 2
    assert LifecycleChange.objects.filter(contact=survivor, to_stage="customer").exists()
    assert record.moved["crm.Activity.contact"] == 1
    assert record.moved["crm.Deal_contacts.contact"] == 1


def test_merge_unites_emails_phones_tags_and_fills_empty_fields(pair, sales_user):
    survivor, other = pair
    contact_merge(survivor=survivor, other=other, field_choices={}, actor=sales_user)
    survivor.refresh_from_db()
    assert list(survivor.emails.order_by("-is_primary", "email").values_list("email", "is_primary")) == [
        ("ann@example.com", True), ("anne@example.com", False)]
    assert sorted(survivor.phones.values_list("number", flat=True)) == ["+49301111111", "+49302222222"]
    assert survivor.tags == ["vip", "berlin"]
    assert (survivor.first_name, survivor.title, survivor.phone) == ("Ann", "CTO", "+49301111111")
    assert survivor.custom == {"tier": "gold", "seats": 5}
    assert survivor.lifecycle_stage == "lead"


def test_field_choices_take_the_others_values(pair, sales_user):
    survivor, other = pair
    contact_merge(survivor=survivor, other=other, actor=sales_user, field_choices={
        "first_name": "other", "lifecycle_stage": "other", "email": "other", "custom.tier": "other",
        "company": "other"})
    survivor.refresh_from_db()
    assert (survivor.first_name, survivor.lifecycle_stage, survivor.email, survivor.company_id) == (
        "Anne", "customer", "anne@example.com", None)
    assert survivor.emails.get(is_primary=True).email == "anne@example.com"
    assert survivor.custom["tier"] == "silver"
    assert LifecycleChange.objects.filter(contact=survivor, from_stage="lead", to_stage="customer").exists()


def test_merge_is_recorded_with_history_and_outbox(pair, sales_user):
    survivor, other = pair
    other_id = other.pk
    record = contact_merge(survivor=survivor, other=other, field_choices={"first_name": "other"}, actor=sales_user)
    record = ContactMerge.objects.get(pk=record.pk)
    assert (record.survivor_id, record.other_id, record.merged_by) == (survivor.pk, other_id, sales_user)
    assert record.field_choices == {"first_name": "other"}
    assert record.other_snapshot["title"] == "CTO"
    assert sorted(record.other_snapshot["emails"]) == ["ann@example.com", "anne@example.com"]
    assert record.merged_snapshot["first_name"] == "Anne"
    latest = survivor.history.first()
    assert latest.history_user == sales_user and f"#{other_id}" in latest.history_change_reason
    # The other's history stays (its creation and its deletion by the merge).
    kinds = list(Contact.history.filter(id=other_id).order_by("history_date").values_list("history_type", flat=True))
    assert kinds[0] == "+" and kinds[-1] == "-"
    messages = [e.message for e in OutboxEntry.objects.filter(object_type="contact", object_id=survivor.pk)]
    merged = next(m for m in messages if m.get("event") == "CRM Contacts Merged")
    identify = next(m for m in messages if m["type"] == "identify")
    for message in (merged, identify):
        assert {(x["type"], x["id"]) for x in message["context"]["externalIds"]} == {
            ("crm_contact_id", str(survivor.pk)), ("crm_contact_id", str(other_id))}
    assert merged["properties"]["mergedCrmContactId"] == other_id
    assert identify["traits"]["firstName"] == "Anne" and identify["anonymousId"] == f"crm-contact-{survivor.pk}"


def test_merge_shows_on_the_survivors_timeline(pair, sales_user, sales_client):
    survivor, other = pair
    contact_merge(survivor=survivor, other=other, field_choices={}, actor=sales_user)
    other_id = other.pk
    html = sales_client.get(reverse("contact-detail", args=[survivor.pk])).content.decode()
    assert f"Merged Anne Lee (#{other_id}) into this record" in html
    assert "Created (on merged Anne Lee)" in html  # the other's own history, kept under its id


def test_no_row_anywhere_still_points_at_the_merged_contact(pair, sales_user):
    from crm.services.merge import _reverse_relations

    survivor, other = pair
    _note(other, "n")
    DealFactory().contacts.add(other)
    LifecycleChange.objects.create(contact=other, from_stage="", to_stage="lead")
    other_id = other.pk
    contact_merge(survivor=survivor, other=other, field_choices={}, actor=sales_user)
    relations = list(_reverse_relations(Contact))
    assert {(m._meta.label, f.name) for m, f in relations} >= {
        ("crm.Activity", "contact"), ("crm.ContactEmail", "contact"), ("crm.ContactPhone", "contact"),
        ("crm.LifecycleChange", "contact"), ("crm.Deal_contacts", "contact"), ("crm.ContactMerge", "survivor")}
    for model, fk in relations:
        if getattr(model, "instance_type", None) is None:
            assert not model._base_manager.filter(**{fk.attname: other_id}).exists(), model


def test_merge_needs_edit_rights_on_both(sales_user):
    other_rep = UserFactory(role="Sales")
    mine = ContactFactory(owner=sales_user)
    theirs = ContactFactory(owner=other_rep)
    with pytest.raises(PermissionDenied):
        contact_merge(survivor=mine, other=theirs, field_choices={}, actor=sales_user)
    with pytest.raises(PermissionDenied):
        contact_merge(survivor=theirs, other=mine, field_choices={}, actor=sales_user)
    assert Contact.objects.count() == 2


def test_bad_choices_and_self_merge_are_refused(pair, sales_user):
    survivor, other = pair
    with pytest.raises(ValidationError) as exc:
        contact_merge(survivor=survivor, other=other, field_choices={"id": "other", "title": "mine"},
                      actor=sales_user)
    assert set(exc.value.message_dict) == {"id", "title"}
    with pytest.raises(ValidationError):
        contact_merge(survivor=survivor, other=survivor, field_choices={}, actor=sales_user)
    assert Contact.objects.count() == 2


def test_choosing_an_owner_the_rep_may_not_assign_is_refused(sales_user):
    manager = UserFactory(role="Sales")
    team = TeamFactory(manager=manager)
    team.members.add(sales_user)
    team_contact = ContactFactory(owner=manager, team=team)  # the rep edits it through the team
    mine = ContactFactory(owner=sales_user)
    with pytest.raises(ValidationError) as exc:
        contact_merge(survivor=mine, other=team_contact, field_choices={"owner": "other"}, actor=sales_user)
    assert "owner" in exc.value.message_dict
    assert Contact.objects.count() == 2
    contact_merge(survivor=mine, other=team_contact, field_choices={}, actor=sales_user)
    mine.refresh_from_db()
    assert mine.owner == sales_user


def test_company_merge_moves_contacts_and_deals(sales_user):
    CustomFieldDefinitionFactory(object_type="company", key="tier")
    keep = CompanyFactory(name="Acme", domain="", owner=sales_user)
    drop = CompanyFactory(name="ACME Inc", domain="acme.com", owner=sales_user)
    contact = ContactFactory(company=drop, owner=sales_user)
    deal = DealFactory(company=drop)
    record = company_merge(survivor=keep, other=drop, field_choices={}, actor=sales_user)
    keep.refresh_from_db()
    assert keep.domain == "acme.com"  # filled from the other after it was deleted
    contact.refresh_from_db()
    deal.refresh_from_db()
    assert contact.company_id == keep.pk and deal.company_id == keep.pk
    assert record.moved == {"crm.Contact.company": 1, "crm.Deal.company": 1}
