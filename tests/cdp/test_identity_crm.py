"""Profiles and CRM contacts: linked through crm_contact_id, by email when the rule says so, and leads."""

from __future__ import annotations

import pytest

from cdp.models import IdentitySettings, IngestBatch, Profile, ProfileMerge, RefusedMerge
from cdp.services.crm_outbox import crm_outbox_drain
from cdp.services.identity_rules import identity_rules_load
from cdp.services.processing import batch_process
from crm.models import Contact
from crm.services.contacts import contact_create
from crm.services.merge import contact_merge
from tests.cdp.identity_support import ingest, msg, profile_of, source

pytestmark = pytest.mark.django_db


def _process_all():
    for b in IngestBatch.objects.filter(processed_at__isnull=True).order_by("id"):
        batch_process(batch_id=b.pk)


def test_crm_contact_and_web_visitor_with_same_email_are_one_linked_profile():
    contact = contact_create(actor=None, first_name="Lena", last_name="Berg", emails=["Lena@Berg.se"])
    crm_outbox_drain()
    _process_all()
    crm_profile = profile_of("crm_contact_id", str(contact.pk))
    assert crm_profile.crm_contact_id == contact.pk
    ingest(source(), [msg("identify", minute=0, userId="lena-7", anonymousId="web-1",
                          traits={"email": "LENA@berg.se"})])
    web = profile_of("user_id", "lena-7")
    assert web.pk == crm_profile.pk
    assert Profile.objects.get(pk=web.pk).crm_contact_id == contact.pk


def test_merge_moves_the_crm_link_to_the_survivor():
    ingest(source(), [msg("identify", minute=0, userId="v1", traits={"plan": "a"})])  # older profile
    contact = contact_create(actor=None, first_name="Ola", emails=["ola@x.no"])
    crm_outbox_drain()
    _process_all()
    crm_profile = profile_of("crm_contact_id", str(contact.pk))
    ingest(source(), [msg("identify", minute=5, userId="v1", traits={"email": "ola@x.no"})])
    survivor = profile_of("user_id", "v1")
    assert survivor.crm_contact_id == contact.pk
    assert Profile.objects.get(pk=crm_profile.pk).merged_into_id == survivor.pk
    assert Profile.objects.get(pk=crm_profile.pk).crm_contact_id is None


def test_crm_contact_merge_merges_their_profiles_and_links_the_surviving_contact():
    ann = contact_create(actor=None, first_name="Ann", emails=["ann@x.no"])
    dup = contact_create(actor=None, first_name="Ann B", emails=["ann.b@x.no"])
    crm_outbox_drain()
    _process_all()
    # Each contact's person also browsed the website, identified by the contact's email.
    ingest(source(), [msg("identify", minute=1, anonymousId="web-ann", traits={"email": "ann@x.no"}),
                      msg("identify", minute=2, anonymousId="web-dup", traits={"email": "ann.b@x.no"})])
    first, second = profile_of("crm_contact_id", str(ann.pk)), profile_of("crm_contact_id", str(dup.pk))
    assert first.pk != second.pk

    contact_merge(survivor=Contact.objects.get(pk=ann.pk), other=Contact.objects.get(pk=dup.pk),
                  field_choices={}, actor=None)
    crm_outbox_drain()
    _process_all()

    merged = profile_of("crm_contact_id", str(ann.pk))
    assert profile_of("crm_contact_id", str(dup.pk)).pk == merged.pk
    assert profile_of("anonymous_id", "web-dup").pk == merged.pk
    assert merged.crm_contact_id == ann.pk
    assert not RefusedMerge.objects.exists()
    assert Profile.objects.filter(merged_into__isnull=True).count() == 1
    assert ProfileMerge.objects.filter(survivor=merged).exists()


def test_link_by_email_rule():
    contact = Contact.objects.create(first_name="Per", email="per@x.no")  # no CRM event processed yet
    ingest(source(), [msg("identify", minute=0, userId="per", traits={"email": "per@x.no"})])
    assert profile_of("user_id", "per").crm_contact_id is None
    identity_rules_load()
    IdentitySettings.objects.filter(pk=1).update(link_crm_by_email=True)
    ingest(source(), [msg("identify", minute=1, userId="per2", traits={"email": "PER@x.no"})])
    # A visitor whose email matches a contact gets linked to it.
    other = Contact.objects.create(first_name="Kai", email="kai@x.no")
    ingest(source(), [msg("identify", minute=2, userId="kai", traits={"email": "kai@x.no"})])
    assert profile_of("user_id", "kai").crm_contact_id == other.pk
    assert contact.pk != other.pk


def test_source_setting_creates_a_lead_for_a_new_identified_profile():
    src = source()
    src.settings = {"create_crm_lead": True}
    src.save(update_fields=["settings"])
    ingest(src, [msg("identify", minute=0, userId="n1", traits={"email": "new@lead.io", "first_name": "Nia"})])
    ingest(src, [msg("page", minute=1, anonymousId="just-browsing")])
    p = profile_of("user_id", "n1")
    contact = Contact.objects.get(pk=p.crm_contact_id)
    assert contact.email == "new@lead.io" and contact.first_name == "Nia"
    assert Contact.objects.count() == 1  # the anonymous visitor got no lead
    # The contact's own CRM event comes back through the outbox and lands on the same profile.
    crm_outbox_drain()
    _process_all()
    assert profile_of("crm_contact_id", str(contact.pk)).pk == p.pk
    assert profile_of("anonymous_id", f"crm-contact-{contact.pk}").pk == p.pk
