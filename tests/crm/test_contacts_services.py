"""Contact services: create/update validation, E.164 phones, lifecycle history, outbox, bulk actions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import Contact, ContactEmail, ContactPhone, LifecycleChange, OutboxEntry
from crm.services.contacts import (
    contact_create,
    contact_delete,
    contact_update,
    contacts_bulk_assign_owner,
    contacts_bulk_set_lifecycle,
    contacts_bulk_tag,
)
from crm.services.phones import phone_normalize
from tests.crm.factories import CompanyFactory, ContactFactory, CustomFieldDefinitionFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_normalizes_emails_and_phones_and_records_everything(sales_user):
    company = CompanyFactory(name="Acme", owner=sales_user)
    contact = contact_create(
        actor=sales_user, first_name=" Jane ", last_name="Doe", emails=["Jane@Example.COM", "jd@other.example"],
        phones=[("+49 30 1234567", "work"), "+1 (415) 555-2671"], company=company, tags=["VIP", "vip", " Lead  "],
    )
    assert contact.first_name == "Jane"
    assert contact.email == "jane@example.com"
    assert contact.phone == "+49301234567"
    assert contact.owner == sales_user  # a rep naming no owner owns it
    assert contact.tags == ["vip", "lead"]
    assert list(ContactEmail.objects.filter(contact=contact).values_list("email", "is_primary")) == [
        ("jane@example.com", True), ("jd@other.example", False)]
    assert list(ContactPhone.objects.filter(contact=contact).values_list("number", "kind")) == [
        ("+49301234567", "work"), ("+14155552671", "mobile")]
    assert LifecycleChange.objects.get(contact=contact).to_stage == "lead"
    assert contact.history.get().history_user == sales_user
    entry = OutboxEntry.objects.get(object_type="contact", object_id=contact.pk)
    message = entry.message
    assert message["type"] == "identify"
    assert "userId" not in message
    assert message["anonymousId"] == f"crm-contact-{contact.pk}"
    assert message["messageId"] == f"crm-{entry.pk}"
    assert message["traits"]["email"] == "jane@example.com"
    assert message["traits"]["phone"] == "+49301234567"
    assert message["traits"]["name"] == "Jane Doe"
    assert message["traits"]["lifecycleStage"] == "lead"
    assert message["traits"]["company"]["name"] == "Acme"
    assert message["context"]["externalIds"] == [
        {"id": str(contact.pk), "type": "crm_contact_id", "collection": "users", "encoding": "none"}]


@pytest.mark.parametrize("raw, expected", [
    ("+49 (30) 123 4567", "+49301234567"), ("0049 30 1234567", "+49301234567"), ("+1 415-555-2671", "+14155552671"),
])
def test_phone_normalize_to_e164(raw, expected):
    assert phone_normalize(raw=raw) == expected


def test_phone_without_country_code_uses_region_or_explains():
    assert phone_normalize(raw="030 1234567", region="DE") == "+49301234567"
    with pytest.raises(ValidationError, match="international format"):
        phone_normalize(raw="030 1234567")
    with pytest.raises(ValidationError, match="not a valid phone number"):
        phone_normalize(raw="+49 12")


def test_create_rejects_bad_input_with_errors_per_field(sales_user):
    with pytest.raises(ValidationError) as info:
        contact_create(actor=sales_user, first_name="X", emails=["not-an-email"], phones=["12345"],
                       lifecycle_stage="bogus")
    errors = info.value.message_dict
    assert "not a valid email" in errors["emails"][0]
    assert "phones" in errors and "lifecycle_stage" in errors
    assert not Contact.objects.exists()
    with pytest.raises(ValidationError, match="name or an email"):
        contact_create(actor=sales_user)


def test_rep_cannot_assign_someone_else_but_manager_can_assign_team_member(sales_user):
    other = UserFactory(role="Sales")
    with pytest.raises(ValidationError) as info:
        contact_create(actor=sales_user, first_name="A", owner=other)
    assert "owner" in info.value.message_dict
    manager = UserFactory(role="Sales")
    team = TeamFactory(manager=manager)
    team.members.add(other)
    contact = contact_create(actor=manager, first_name="B", owner=other, team=team)
    assert contact.owner == other and contact.team == team


def test_read_only_roles_cannot_create(support_user, marketing_user):
    for user in (support_user, marketing_user):
        with pytest.raises(PermissionDenied):
            contact_create(actor=user, first_name="Nope")


def test_update_records_lifecycle_change_history_and_outbox(sales_user):
    contact = ContactFactory(owner=sales_user, lifecycle_stage="lead")
    before = OutboxEntry.objects.count()
    contact_update(contact=contact, actor=sales_user, changes={"lifecycle_stage": "customer", "title": "CTO"})
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "customer" and contact.title == "CTO"
    change = LifecycleChange.objects.get(contact=contact)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("lead", "customer", sales_user)
    latest = contact.history.latest()
    assert latest.history_user == sales_user and latest.title == "CTO"
    assert OutboxEntry.objects.count() == before + 1
    assert OutboxEntry.objects.latest("id").message["traits"]["lifecycleStage"] == "customer"
    # No stage change, no new lifecycle row.
    contact_update(contact=contact, actor=sales_user, changes={"title": "CEO"})
    assert LifecycleChange.objects.filter(contact=contact).count() == 1


def test_update_replaces_emails_keeping_primary_in_sync(sales_user):
    contact = ContactFactory(owner=sales_user, email="old@example.com")
    contact_update(contact=contact, actor=sales_user, changes={"emails": ["New@Example.com", "second@example.com"]})
    contact.refresh_from_db()
    assert contact.email == "new@example.com"
    assert ContactEmail.objects.get(contact=contact, is_primary=True).email == "new@example.com"
    assert ContactEmail.objects.filter(contact=contact).count() == 2


def test_update_refuses_unknown_fields_and_records_not_editable(sales_user):
    contact = ContactFactory(owner=sales_user)
    with pytest.raises(ValidationError) as info:
        contact_update(contact=contact, actor=sales_user, changes={"created_at": "2020-01-01"})
    assert "created_at" in info.value.message_dict
    stranger = ContactFactory(owner=UserFactory(role="Sales"))
    with pytest.raises(PermissionDenied):
        contact_update(contact=stranger, actor=sales_user, changes={"title": "x"})


def test_update_validates_and_merges_custom_fields(sales_user):
    CustomFieldDefinitionFactory(key="tier", field_type="choice", choices=["Gold", "Silver"])
    CustomFieldDefinitionFactory(key="seats", field_type="number")
    contact = ContactFactory(owner=sales_user)
    contact_update(contact=contact, actor=sales_user, changes={"custom": {"tier": "gold"}})
    contact_update(contact=contact, actor=sales_user, changes={"custom": {"seats": "12"}})
    contact.refresh_from_db()
    assert contact.custom == {"tier": "Gold", "seats": 12}
    with pytest.raises(ValidationError) as info:
        contact_update(contact=contact, actor=sales_user, changes={"custom": {"tier": "Bronze", "nope": 1}})
    assert set(info.value.message_dict) == {"custom.tier", "custom.nope"}


def test_delete_records_track_message(sales_user):
    contact = ContactFactory(owner=sales_user)
    pk = contact.pk
    contact_delete(contact=contact, actor=sales_user)
    assert not Contact.objects.filter(pk=pk).exists()
    message = OutboxEntry.objects.latest("id").message
    assert message["type"] == "track" and message["event"] == "CRM Contact Deleted"


def test_bulk_actions_touch_only_editable_contacts_with_constant_queries(sales_user, django_assert_max_num_queries):
    mine = [ContactFactory(owner=sales_user, lifecycle_stage="lead") for _ in range(5)]
    foreign = ContactFactory(owner=UserFactory(role="Sales"), lifecycle_stage="lead")
    ids = [c.pk for c in mine] + [foreign.pk]
    before = OutboxEntry.objects.count()
    with django_assert_max_num_queries(12):
        changed = contacts_bulk_set_lifecycle(actor=sales_user, contact_ids=ids, lifecycle_stage="customer")
    assert changed == 5
    assert set(Contact.objects.filter(pk__in=ids).values_list("lifecycle_stage", flat=True)) == {"customer", "lead"}
    foreign.refresh_from_db()
    assert foreign.lifecycle_stage == "lead"
    assert LifecycleChange.objects.filter(to_stage="customer").count() == 5
    assert OutboxEntry.objects.count() == before + 5
    assert mine[0].history.latest().lifecycle_stage == "customer"

    assert contacts_bulk_tag(actor=sales_user, contact_ids=ids, tag="Webinar") == 5
    assert contacts_bulk_tag(actor=sales_user, contact_ids=ids, tag="webinar") == 0  # already tagged
    assert all("webinar" in c.tags for c in Contact.objects.filter(owner=sales_user))
    assert contacts_bulk_tag(actor=sales_user, contact_ids=ids, tag="webinar", remove=True) == 5
    assert not Contact.objects.filter(tags__contains=["webinar"]).exists()


def test_bulk_assign_owner_respects_assignment_rules(sales_user, admin_user):
    other = UserFactory(role="Sales")
    contacts = [ContactFactory(owner=sales_user) for _ in range(3)]
    with pytest.raises(PermissionDenied):
        contacts_bulk_assign_owner(actor=sales_user, contact_ids=[c.pk for c in contacts], owner=other)
    assert contacts_bulk_assign_owner(actor=admin_user, contact_ids=[c.pk for c in contacts], owner=other) == 3
    assert Contact.objects.filter(owner=other).count() == 3
    assert contacts[0].history.latest().history_user == admin_user
