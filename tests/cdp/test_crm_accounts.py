"""CRM companies are accounts, never people: their messages set account traits and create no person profile."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from cdp.models import Account, EventProfile, Identifier, IngestBatch, Profile, ProfileMerge
from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.processing import batch_process
from crm.models import Company
from crm.services.companies import company_create, company_delete, company_update
from crm.services.contacts import contact_create
from crm.services.deals import deal_create
from crm.services.merge import company_merge
from tests.cdp.identity_support import ingest, msg, profile_of, source
from tests.crm.deal_factories import make_pipeline

pytestmark = pytest.mark.django_db


def _process_all():
    crm_outbox_drain()
    for b in IngestBatch.objects.filter(processed_at__isnull=True).order_by("id"):
        batch_process(batch_id=b.pk)


def test_company_is_an_account_with_its_traits_and_no_person_profile():
    company = company_create(actor=None, name="Acme Corp", domain="acme.com", industry="Tools")
    company_update(company=company, actor=None, changes={"industry": "Hardware"})
    _process_all()
    account = Account.objects.get(group_id=f"crm-company-{company.pk}")
    assert account.traits["name"] == "Acme Corp" and account.traits["industry"] == "Hardware"
    assert not Identifier.objects.filter(value__startswith="crm-company-").exists()
    assert Profile.objects.count() == 0


def test_company_events_merge_delete_and_contactless_deal_create_no_person(admin_user):
    acme = company_create(actor=None, name="Acme", domain="acme.com")
    other = company_create(actor=None, name="Acme Inc", domain="acme.io")
    company_merge(survivor=acme, other=other, actor=None, field_choices={})
    deal_create(user=admin_user, name="Big deal", amount="100", company=acme, pipeline=make_pipeline())
    company_delete(company=Company.objects.get(pk=acme.pk), actor=None)
    _process_all()
    assert Profile.objects.count() == 0
    assert not Identifier.objects.exists()


def test_a_contact_of_the_company_is_a_person_linked_to_the_account():
    company = company_create(actor=None, name="Beta", domain="beta.com")
    contact = contact_create(actor=None, first_name="Bea", last_name="Ng", emails=["bea@beta.com"], company=company)
    _process_all()
    person = profile_of("crm_contact_id", str(contact.pk))
    assert Profile.objects.count() == 1
    # A browser's own group call still joins its person to the account.
    ingest(source(), [msg("group", minute=1, anonymousId="web-1", groupId=f"crm-company-{company.pk}",
                          traits={"plan": "pro"})])
    visitor = profile_of("anonymous_id", "web-1")
    assert visitor.account_id == Account.objects.get(group_id=f"crm-company-{company.pk}").pk
    assert person.pk != visitor.pk


def test_migration_removes_company_profiles_and_keeps_people():
    now = timezone.now()
    company = Profile.objects.create()
    Identifier.objects.create(type="anonymous_id", value="crm-company-7", profile=company)
    person = Profile.objects.create()
    Identifier.objects.create(type="anonymous_id", value="crm-company-8", profile=person)
    Identifier.objects.create(type="email", value="kim@x.org", profile=person)
    contact_linked = Profile.objects.create(crm_contact_id=99)
    Identifier.objects.create(type="anonymous_id", value="crm-company-9", profile=contact_linked)
    absorbed = Profile.objects.create(merged_into=company)
    ProfileMerge.objects.create(survivor=company, merged=absorbed, event_id=1, message_id="m", identifiers=[], at=now)
    EventProfile.objects.create(event_id=123, received_at=now, profile_id=company.pk, timestamp=now)
    EventProfile.objects.create(event_id=124, received_at=now, profile_id=person.pk, timestamp=now)
    Identifier.objects.create(type="anonymous_id", value="crm-company-x", profile=absorbed)  # not a company id

    module = importlib.import_module("cdp.migrations.0012_company_profiles_removed")
    module.company_profiles_remove(apps, connection.schema_editor())

    assert not Profile.objects.filter(pk=company.pk).exists()
    assert not EventProfile.objects.filter(profile_id=company.pk).exists()
    assert not ProfileMerge.objects.exists()
    assert Profile.objects.get(pk=absorbed.pk).merged_into_id is None
    assert sorted(Identifier.objects.filter(profile=person).values_list("type", "value")) == [("email", "kim@x.org")]
    assert EventProfile.objects.filter(profile_id=person.pk).exists()
    assert Profile.objects.filter(pk=contact_linked.pk).exists()
    assert not Identifier.objects.filter(value__regex=r"^crm-company-[0-9]+$").exists()
    assert Identifier.objects.filter(value="crm-company-x").exists()
