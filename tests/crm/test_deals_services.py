from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.models import Deal, DealStageChange, OutboxEntry
from crm.services.deals import deal_create, deal_mark_lost, deal_mark_won, deal_move_to_stage, deal_update
from tests.crm.deal_factories import DealFactory, make_pipeline, stage
from tests.crm.factories import CompanyFactory, ContactFactory
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline():
    return make_pipeline()


def test_create_places_deal_in_first_open_stage_with_its_probability_and_records_event(pipeline, sales_user):
    contact = ContactFactory(owner=sales_user)
    deal = deal_create(user=sales_user, name="Acme renewal", pipeline=pipeline, amount="1200.50", currency="usd",
                       contacts=[contact], company=CompanyFactory(owner=sales_user))
    assert (deal.stage.name, deal.probability, deal.probability_overridden) == ("Lead", 10, False)
    assert deal.owner == sales_user and deal.status == "open"
    assert deal.amount == Decimal("1200.50") and deal.currency == "USD"
    change = DealStageChange.objects.get(deal=deal)
    assert change.from_stage is None and change.to_stage.name == "Lead" and change.changed_by == sales_user
    entry = OutboxEntry.objects.get(object_type="deal", object_id=deal.pk)
    assert entry.message["event"] == "Deal Created"
    assert entry.message["anonymousId"] == f"crm-contact-{contact.pk}"
    assert entry.message["context"]["externalIds"][0] == {
        "id": str(contact.pk), "type": "crm_contact_id", "collection": "users", "encoding": "none"}
    assert entry.message["properties"]["amount"] == 1200.5
    assert entry.message["messageId"] == f"crm-{entry.pk}"


def test_create_without_contact_uses_deal_identity(pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Solo", pipeline=pipeline)
    message = OutboxEntry.objects.get(object_id=deal.pk).message
    assert message["anonymousId"] == f"crm-deal-{deal.pk}"
    assert "externalIds" not in message["context"]


def test_create_rejects_bad_input(pipeline, sales_user):
    other = make_pipeline("Other", is_default=False)
    with pytest.raises(ValidationError) as err:
        deal_create(user=sales_user, name="X", pipeline=pipeline, stage=stage(other, "Lead"))
    assert "stage" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        deal_create(user=sales_user, name="X", pipeline=pipeline, currency="euro")
    assert "currency" in err.value.message_dict
    with pytest.raises(ValidationError):
        deal_create(user=sales_user, name="X", pipeline=pipeline, amount="-5")
    with pytest.raises(ValidationError):
        deal_create(user=sales_user, name="X", pipeline=pipeline, probability=101)
    assert not Deal.objects.exists()


def test_read_only_roles_cannot_create(pipeline, marketing_user, support_user):
    for user in (marketing_user, support_user):
        with pytest.raises(PermissionDenied):
            deal_create(user=user, name="X", pipeline=pipeline)


def test_rep_cannot_give_deal_to_someone_else_but_manager_can_to_team_member(pipeline, sales_user):
    other = UserFactory(role="Sales")
    with pytest.raises(ValidationError) as refused:
        deal_create(user=sales_user, name="X", pipeline=pipeline, owner=other)
    assert refused.value.message_dict == {"owner": ["You may not assign records to this owner."]}
    team = TeamFactory(manager=sales_user)
    team.members.add(other)
    sales_user = type(sales_user).objects.get(pk=sales_user.pk)  # team ids are cached per user object
    deal = deal_create(user=sales_user, name="X", pipeline=pipeline, owner=other, team=team)
    assert deal.owner == other


def test_move_records_change_updates_status_probability_and_events(pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Big", pipeline=pipeline, amount=5000)
    moved = deal_move_to_stage(user=sales_user, deal=deal, stage=stage(pipeline, "Proposal"))
    assert (moved.stage.name, moved.probability, moved.status) == ("Proposal", 60, "open")
    change = DealStageChange.objects.filter(deal=deal).order_by("-id").first()
    assert (change.from_stage.name, change.to_stage.name, change.changed_by) == ("Lead", "Proposal", sales_user)
    events = list(OutboxEntry.objects.filter(object_id=deal.pk).order_by("id").values_list("message__event", flat=True))
    assert events == ["Deal Created", "Deal Stage Changed"]
    last = OutboxEntry.objects.filter(object_id=deal.pk).order_by("-id").first().message["properties"]
    assert (last["from_stage"], last["to_stage"], last["pipeline"]) == ("Lead", "Proposal", "Sales")


def test_overridden_probability_survives_open_moves_but_not_closing(pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Big", pipeline=pipeline, probability=45)
    assert deal.probability_overridden and deal.probability == 45
    deal = deal_move_to_stage(user=sales_user, deal=deal, stage=stage(pipeline, "Qualified"))
    assert deal.probability == 45
    deal = deal_update(user=sales_user, deal=deal, changes={"probability": None})
    assert (deal.probability, deal.probability_overridden) == (30, False)
    deal = deal_mark_won(user=sales_user, deal=deal)
    assert (deal.status, deal.probability, deal.stage.name) == ("won", 100, "Won")
    assert deal.closed_at is not None
    events = list(OutboxEntry.objects.filter(object_id=deal.pk).values_list("message__event", flat=True))
    assert "Deal Won" in events


def test_mark_lost_requires_reason(pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Big", pipeline=pipeline)
    with pytest.raises(ValidationError):
        deal_mark_lost(user=sales_user, deal=deal, reason="  ")
    with pytest.raises(ValidationError):
        deal_move_to_stage(user=sales_user, deal=deal, stage=stage(pipeline, "Lost"))
    deal = deal_mark_lost(user=sales_user, deal=deal, reason="Chose a competitor")
    assert (deal.status, deal.lost_reason, deal.probability) == ("lost", "Chose a competitor", 0)
    assert OutboxEntry.objects.filter(object_id=deal.pk, message__event="Deal Lost").exists()
    reopened = deal_move_to_stage(user=sales_user, deal=deal, stage=stage(pipeline, "Lead"))
    assert (reopened.status, reopened.lost_reason, reopened.closed_at) == ("open", "", None)


def test_rep_cannot_move_another_reps_deal_and_nothing_is_recorded(pipeline, sales_user):
    other = UserFactory(role="Sales")
    deal = DealFactory(owner=other, pipeline=pipeline)
    with pytest.raises(PermissionDenied):
        deal_move_to_stage(user=sales_user, deal=deal, stage=stage(pipeline, "Proposal"))
    deal.refresh_from_db()
    assert deal.stage.name == "Lead"
    assert not DealStageChange.objects.exists() and not OutboxEntry.objects.exists()


def test_read_only_roles_cannot_move(pipeline, marketing_user, sales_user):
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    with pytest.raises(PermissionDenied):
        deal_move_to_stage(user=marketing_user, deal=deal, stage=stage(pipeline, "Proposal"))


def test_team_member_and_manager_can_move(pipeline, sales_user):
    manager = UserFactory(role="Sales")
    team = TeamFactory(manager=manager)
    team.members.add(sales_user)
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    deal_move_to_stage(user=manager, deal=deal, stage=stage(pipeline, "Qualified"))
    assert DealStageChange.objects.get(deal=deal).changed_by == manager


def test_move_to_stage_of_other_pipeline_is_rejected(pipeline, sales_user):
    other = make_pipeline("Partners", is_default=False)
    deal = DealFactory(owner=sales_user, pipeline=pipeline)
    with pytest.raises(ValidationError):
        deal_move_to_stage(user=sales_user, deal=deal, stage=stage(other, "Qualified"))


def test_update_changes_pipeline_records_move_and_validates_fields(pipeline, sales_user):
    other = make_pipeline("Partners", is_default=False)
    deal = deal_create(user=sales_user, name="Big", pipeline=pipeline)
    deal = deal_update(user=sales_user, deal=deal, changes={"pipeline": other, "name": "Bigger", "amount": "10"})
    assert (deal.pipeline, deal.stage.name, deal.name, deal.amount) == (other, "Lead", "Bigger", Decimal("10.00"))
    assert DealStageChange.objects.filter(deal=deal).count() == 2
    with pytest.raises(ValidationError):
        deal_update(user=sales_user, deal=deal, changes={"status": "won"})
    with pytest.raises(ValidationError):
        deal_update(user=sales_user, deal=deal, changes={"name": ""})
    with pytest.raises(ValidationError, match="You may not assign records to this owner."):
        deal_update(user=sales_user, deal=deal, changes={"owner": UserFactory(role="Sales")})


def test_custom_fields_are_validated(pipeline, sales_user):
    from tests.crm.factories import CustomFieldDefinitionFactory

    CustomFieldDefinitionFactory(object_type="deal", key="seats", field_type="number")
    deal = deal_create(user=sales_user, name="Big", pipeline=pipeline, custom={"seats": "12"})
    assert deal.custom == {"seats": 12}
    with pytest.raises(ValidationError):
        deal_update(user=sales_user, deal=deal, changes={"custom": {"seats": "many"}})
    with pytest.raises(ValidationError):
        deal_update(user=sales_user, deal=deal, changes={"custom": {"nope": "x"}})


def test_history_records_the_acting_user_and_field_changes(pipeline, sales_user):
    deal = deal_create(user=sales_user, name="Tracked", pipeline=pipeline, amount=10)
    deal = deal_update(user=sales_user, deal=deal, changes={"amount": "20"})
    deal_move_to_stage(user=sales_user, deal=deal, stage=stage(pipeline, "Proposal"))
    records = list(deal.history.order_by("history_id"))
    assert [r.history_user for r in records] == [sales_user] * 3
    assert [r.amount for r in records] == [Decimal("10.00"), Decimal("20.00"), Decimal("20.00")]
    assert records[-1].stage_id == stage(pipeline, "Proposal").pk


def test_deal_outbox_messages_pass_the_cdp_collection_validation(pipeline, sales_user):
    """The CDP drains these through its one ingestion path; none may be rejected there."""
    from django.utils import timezone

    from cdp.services.validation import messages_validate

    contact = ContactFactory(owner=sales_user)
    deal = deal_create(user=sales_user, name="Validated", pipeline=pipeline, amount="99.90", contacts=[contact])
    deal = deal_move_to_stage(user=sales_user, deal=deal, stage=stage(pipeline, "Proposal"))
    deal = deal_update(user=sales_user, deal=deal, changes={"expected_close_date": None})
    deal_mark_lost(user=sales_user, deal=deal, reason="Budget")
    messages = list(OutboxEntry.objects.order_by("id").values_list("message", flat=True))
    assert [m["event"] for m in messages] == ["Deal Created", "Deal Stage Changed", "Deal Updated",
                                              "Deal Stage Changed", "Deal Lost"]
    valid, rejected = messages_validate(messages, received_at=timezone.now())
    assert rejected == [] and len(valid) == 5
