"""The link between profiles and CRM contacts (crm is upstream: cdp calls its services)."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from cdp.models import Identifier, Profile, Source
from cdp.services.identity_locks import advisory_lock
from cdp.services.identity_rules import TRUSTED_SOURCE_KINDS
from config.db import ints

log = logging.getLogger(__name__)

# The CRM's own statement that two contacts are one person: merges their profiles whatever the limits say.
CRM_MERGE_EVENT = "CRM Contacts Merged"


def is_crm_merge(*, source_kind: str, message: dict) -> bool:
    """Whether ``message`` is the CRM's merge of two contacts; only trusted sources (server, CRM) may send it."""
    return (source_kind in TRUSTED_SOURCE_KINDS and message.get("type") == "track"
            and message.get("event") == CRM_MERGE_EVENT)


def crm_links_follow(cur, profile_ids: list[int]) -> None:
    """Point each of ``profile_ids`` at the CRM contact of its crm_contact_id identifiers: the one that still
    exists (after a CRM merge the other contact is gone), the most recently linked among several; none if it
    holds none. Caller holds the profiles' row locks."""
    from crm.selectors.contact_links import contacts_db_table

    cur.execute(
        """
        UPDATE cdp_profile p SET crm_contact_id = NULL
         WHERE p.id = ANY(%s::bigint[]) AND p.crm_contact_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM cdp_identifier i WHERE i.profile_id = p.id
                           AND i.type = 'crm_contact_id' AND i.value = p.crm_contact_id::text)
        """,
        [ints(profile_ids)],
    )
    cur.execute(
        f"""
        WITH wanted AS (
            SELECT DISTINCT ON (i.profile_id) i.profile_id AS pid, i.value::bigint AS contact_id
              FROM cdp_identifier i
             WHERE i.profile_id = ANY(%s::bigint[]) AND i.type = 'crm_contact_id' AND i.value ~ '^[0-9]{{1,18}}$'
             ORDER BY i.profile_id,
                      EXISTS (SELECT 1 FROM {contacts_db_table()} c WHERE c.id = i.value::bigint) DESC, i.id DESC
        )
        UPDATE cdp_profile p SET crm_contact_id = w.contact_id
          FROM wanted w WHERE p.id = w.pid AND p.crm_contact_id IS DISTINCT FROM w.contact_id
        """,
        [ints(profile_ids)],
    )


def crm_leads_create(*, source: Source, profile_ids: list[int]) -> list[int]:
    """Create a lead contact for each new identified profile (one with an email) that has no CRM contact, and
    link it (crm_contact_id identifier + Profile.crm_contact_id). Caller holds the batch transaction and the
    profile locks. Returns the created contact ids."""
    from crm.services.contacts import contact_create

    created: list[int] = []
    profiles = Profile.objects.filter(pk__in=profile_ids, crm_contact_id__isnull=True, merged_into__isnull=True)
    emails: dict[int, str] = {}
    for pid, email in Identifier.objects.filter(profile_id__in=profile_ids, type="email").order_by(
            "profile_id", "id").values_list("profile_id", "value"):
        emails.setdefault(pid, email)
    for profile in profiles:
        email = emails.get(profile.pk)
        if not email:
            continue
        traits = profile.traits or {}
        try:
            contact = contact_create(
                actor=None, emails=[email],
                first_name=str(traits.get("first_name") or traits.get("firstName") or "")[:100],
                last_name=str(traits.get("last_name") or traits.get("lastName") or "")[:100],
                lead_source=f"CDP: {source.name}"[:100],
            )
        except ValidationError as exc:  # a bad trait must not fail the batch; the profile stays unlinked
            log.warning("CRM lead for profile %s not created: %s", profile.pk, exc)
            continue
        with connection.cursor() as cur:
            advisory_lock(cur, {("crm_contact_id", str(contact.pk))})
        Identifier.objects.create(type="crm_contact_id", value=str(contact.pk), profile=profile)
        Profile.objects.filter(pk=profile.pk).update(crm_contact_id=contact.pk, updated_at=timezone.now())
        created.append(contact.pk)
    return created
