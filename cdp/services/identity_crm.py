"""The link between profiles and CRM contacts (crm is upstream: cdp calls its services)."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from cdp.models import Identifier, Profile, Source
from cdp.services.identity_locks import advisory_lock

log = logging.getLogger(__name__)


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
