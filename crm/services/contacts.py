"""Writes of contacts: create, update, delete and set-based bulk actions.

Every write records a Segment ``identify`` message in the CRM outbox in the same transaction, and a
simple_history row attributed to ``actor``. ``actor=None`` means the system (imports, demo data): no
permission checks are made for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import F, Func, Value
from django.utils import timezone

from crm.models import Company, Contact, ContactEmail, ContactPhone, LifecycleChange, Team
from crm.selectors.assignment import can_create_records, may_assign_owner
from crm.selectors.contacts import contacts_editable_by
from crm.services.custom_fields import custom_values_clean
from crm.services.outbox import outbox_record, outbox_record_many
from crm.services.phones import phone_normalize
from crm.services.records import FieldErrors, assignment_errors, tags_clean

PhoneInput = str | tuple[str, str] | Mapping[str, str]

UPDATABLE_FIELDS = frozenset({
    "first_name", "last_name", "title", "company", "owner", "team", "lifecycle_stage", "lead_source", "tags",
    "custom", "emails", "phones",
})
TEXT_FIELDS = frozenset({"first_name", "last_name", "title", "lead_source"})
RELATION_FIELDS = frozenset({"owner", "team", "company"})


# --- outbox messages ----------------------------------------------------------------------------

def contact_traits(contact: Contact) -> dict[str, Any]:
    """Segment traits for a contact. Reads ``contact.company`` (select it related to avoid a query)."""
    traits: dict[str, Any] = {
        key: value for key, value in contact.custom.items()
    }
    traits.update({
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "name": contact.full_name,
        "email": contact.email or None,
        "phone": contact.phone or None,
        "title": contact.title,
        "lifecycleStage": contact.lifecycle_stage,
        "leadSource": contact.lead_source,
        "tags": list(contact.tags),
        "crmContactId": contact.pk,
        "crmOwnerId": contact.owner_id,
        "createdAt": contact.created_at.isoformat() if contact.created_at else None,
    })
    company = contact.company if contact.company_id else None
    traits["company"] = (
        {"id": f"crm-company-{company.pk}", "name": company.name, "domain": company.domain or None,
         "industry": company.industry or None}
        if company else None
    )
    return traits


def contact_identify_message(contact: Contact) -> dict[str, Any]:
    return {
        "type": "identify",
        "anonymousId": f"crm-contact-{contact.pk}",
        "traits": contact_traits(contact),
        "context": {"externalIds": [
            {"id": str(contact.pk), "type": "crm_contact_id", "collection": "users", "encoding": "none"},
        ]},
        "timestamp": (contact.updated_at.isoformat() if contact.updated_at else None),
    }


def _outbox_contact(contact: Contact) -> None:
    outbox_record(object_type="contact", object_id=contact.pk, message=contact_identify_message(contact))


# --- input cleaning -----------------------------------------------------------------------------

def emails_clean(emails: Iterable[str]) -> list[str]:
    """Lower-case, strip, drop blanks and duplicates (first wins); raise ``ValidationError`` for a bad one."""
    result: list[str] = []
    for raw in emails:
        email = (raw or "").strip().lower()
        if not email:
            continue
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"emails": [f"“{raw}” is not a valid email address."]}) from None
        if email not in result:
            result.append(email)
    return result


def phones_clean(phones: Iterable[PhoneInput], *, region: str | None = None) -> list[tuple[str, str]]:
    """Normalize to ``[(e164, kind)]`` without duplicates; raise ``ValidationError`` naming each bad number."""
    result: list[tuple[str, str]] = []
    errors: list[str] = []
    for item in phones:
        if isinstance(item, Mapping):
            raw, kind = item.get("number", ""), item.get("kind") or ContactPhone.Kind.MOBILE
        elif isinstance(item, tuple):
            raw, kind = item
        else:
            raw, kind = item, ContactPhone.Kind.MOBILE
        if not (raw or "").strip():
            continue
        if kind not in ContactPhone.Kind.values:
            errors.append(f"“{kind}” is not a phone kind ({', '.join(ContactPhone.Kind.values)}).")
            continue
        try:
            number = phone_normalize(raw=raw, region=region)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if number not in [n for n, _ in result]:
            result.append((number, kind))
    if errors:
        raise ValidationError({"phones": errors})
    return result


def _replace_emails(contact: Contact, emails: list[str]) -> None:
    ContactEmail.objects.filter(contact=contact).delete()
    ContactEmail.objects.bulk_create(
        [ContactEmail(contact=contact, email=email, is_primary=(i == 0)) for i, email in enumerate(emails)]
    )
    contact.email = emails[0] if emails else ""


def _replace_phones(contact: Contact, phones: list[tuple[str, str]]) -> None:
    ContactPhone.objects.filter(contact=contact).delete()
    ContactPhone.objects.bulk_create([ContactPhone(contact=contact, number=n, kind=k) for n, k in phones])
    contact.phone = phones[0][0] if phones else ""


# --- single-record writes -----------------------------------------------------------------------

@transaction.atomic
def contact_create(
    *,
    actor: AbstractBaseUser | None,
    first_name: str = "",
    last_name: str = "",
    emails: Sequence[str] = (),
    phones: Sequence[PhoneInput] = (),
    title: str = "",
    company: Company | None = None,
    owner: AbstractBaseUser | None = None,
    team: Team | None = None,
    lifecycle_stage: str = Contact.Lifecycle.LEAD,
    lead_source: str = "",
    tags: Sequence[str] = (),
    custom: Mapping[str, Any] | None = None,
    phone_region: str | None = None,
) -> Contact:
    """Create a contact with its emails (the first is primary) and phones (normalized to E.164).

    A rep who names no owner owns the contact. Raises ``ValidationError`` (keyed by field) for bad input and
    ``PermissionDenied`` when ``actor`` may not create contacts.
    """
    if actor is not None and not can_create_records(actor):
        raise PermissionDenied("You may not create contacts.")
    if actor is not None and owner is None and not may_assign_owner(actor, None):
        owner = actor
    errors = FieldErrors()
    clean_emails: list[str] = []
    clean_phones: list[tuple[str, str]] = []
    clean_custom: dict[str, Any] = {}
    with errors.collect():
        clean_emails = emails_clean(emails)
    with errors.collect():
        clean_phones = phones_clean(phones, region=phone_region)
    with errors.collect(prefix="custom."):
        clean_custom = custom_values_clean(object_type="contact", values=dict(custom or {}))
    if lifecycle_stage not in Contact.Lifecycle.values:
        errors.add("lifecycle_stage", f"“{lifecycle_stage}” is not a lifecycle stage.")
    if not (first_name.strip() or last_name.strip() or clean_emails):
        errors.add("first_name", "Enter a name or an email address.")
    errors.update(assignment_errors(actor, owner=owner, team=team, owner_changed=owner is not None,
                                    team_changed=team is not None))
    errors.raise_if_any()

    contact = Contact(
        first_name=first_name.strip(), last_name=last_name.strip(), title=title.strip(), company=company,
        owner=owner, team=team, lifecycle_stage=lifecycle_stage, lead_source=lead_source.strip(),
        tags=tags_clean(tags), custom=clean_custom,
        email=clean_emails[0] if clean_emails else "", phone=clean_phones[0][0] if clean_phones else "",
    )
    contact._history_user = actor
    contact.save()
    _replace_emails(contact, clean_emails)
    _replace_phones(contact, clean_phones)
    LifecycleChange.objects.create(contact=contact, from_stage="", to_stage=lifecycle_stage, changed_by=actor)
    _outbox_contact(contact)
    return contact


@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    actor: AbstractBaseUser | None,
    changes: Mapping[str, Any],
    phone_region: str | None = None,
) -> Contact:
    """Apply ``changes`` (any of ``UPDATABLE_FIELDS``; ``emails``/``phones`` replace the whole list, ``custom``
    is merged) to ``contact``, which ``actor`` must be allowed to edit.

    Records a ``LifecycleChange`` when the stage changes, a history row and an outbox identify message.
    Raises ``ValidationError`` keyed by field, ``PermissionDenied`` if the contact is not editable by ``actor``.
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({key: ["This field cannot be changed."] for key in sorted(unknown)})
    base = Contact.objects if actor is None else contacts_editable_by(actor)
    locked = base.select_for_update(of=("self",)).filter(pk=contact.pk).first()
    if locked is None:
        raise PermissionDenied("You may not edit this contact.")
    contact = locked
    errors = FieldErrors()
    old_stage, old_owner_id, old_team_id = contact.lifecycle_stage, contact.owner_id, contact.team_id
    new_emails = new_phones = None
    if "emails" in changes:
        with errors.collect():
            new_emails = emails_clean(changes["emails"] or [])
    if "phones" in changes:
        with errors.collect():
            new_phones = phones_clean(changes["phones"] or [], region=phone_region)
    if "custom" in changes:
        with errors.collect(prefix="custom."):
            contact.custom = custom_values_clean(object_type="contact", values=dict(changes["custom"] or {}),
                                                 existing=contact.custom)
    if "tags" in changes:
        contact.tags = tags_clean(changes["tags"] or [])
    if "lifecycle_stage" in changes:
        if changes["lifecycle_stage"] in Contact.Lifecycle.values:
            contact.lifecycle_stage = changes["lifecycle_stage"]
        else:
            errors.add("lifecycle_stage", f"“{changes['lifecycle_stage']}” is not a lifecycle stage.")
    for key in RELATION_FIELDS & changes.keys():
        setattr(contact, key, changes[key])
    for key in TEXT_FIELDS & changes.keys():
        setattr(contact, key, (changes[key] or "").strip())
    errors.update(assignment_errors(actor, owner=contact.owner, team=contact.team,
                                    owner_changed=contact.owner_id != old_owner_id,
                                    team_changed=contact.team_id != old_team_id))
    if new_emails is not None:
        if not (contact.first_name or contact.last_name or new_emails):
            errors.add("emails", "A contact without a name needs an email address.")
    elif not (contact.first_name or contact.last_name or contact.email):
        errors.add("first_name", "Enter a name or an email address.")
    errors.raise_if_any()

    if new_emails is not None:
        _replace_emails(contact, new_emails)
    if new_phones is not None:
        _replace_phones(contact, new_phones)
    contact._history_user = actor
    contact.save()
    if contact.lifecycle_stage != old_stage:
        LifecycleChange.objects.create(contact=contact, from_stage=old_stage, to_stage=contact.lifecycle_stage,
                                       changed_by=actor)
    _outbox_contact(contact)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor: AbstractBaseUser | None) -> None:
    """Delete a contact the actor may edit; records a ``CRM Contact Deleted`` track message."""
    base = Contact.objects if actor is None else contacts_editable_by(actor)
    if not base.filter(pk=contact.pk).exists():
        raise PermissionDenied("You may not delete this contact.")
    contact_id = contact.pk
    contact._history_user = actor
    contact.delete()
    outbox_record(object_type="contact", object_id=contact_id, message={
        "type": "track", "event": "CRM Contact Deleted", "anonymousId": f"crm-contact-{contact_id}",
        "properties": {"crmContactId": contact_id},
        "context": {"externalIds": [
            {"id": str(contact_id), "type": "crm_contact_id", "collection": "users", "encoding": "none"},
        ]},
    })


# --- set-based bulk actions ---------------------------------------------------------------------

def _bulk_finish(actor: AbstractBaseUser | None, ids: list[int]) -> int:
    """History rows and outbox messages for contacts just updated in bulk (a constant number of queries)."""
    if not ids:
        return 0
    contacts = list(Contact.objects.filter(pk__in=ids).select_related("company").order_by("id"))
    Contact.history.bulk_history_create(contacts, update=True, default_user=actor)
    outbox_record_many(object_type="contact",
                       items=[(c.pk, contact_identify_message(c)) for c in contacts])
    return len(contacts)


def contacts_outbox_refresh(*, contact_ids: Iterable[int], chunk_size: int = 2000) -> int:
    """Record a fresh identify message for each of ``contact_ids`` (their traits carry their company's name,
    domain and industry, so a company change must reach its contacts' profiles too). Caller holds the
    transaction that made the change; a few queries per ``chunk_size`` contacts."""
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), chunk_size):
        contacts = Contact.objects.filter(pk__in=ids[start:start + chunk_size]).select_related("company")
        outbox_record_many(object_type="contact",
                           items=[(c.pk, contact_identify_message(c)) for c in contacts.order_by("id")])
    return len(ids)


def _bulk_target(actor: AbstractBaseUser | None, contact_ids: Iterable[int]):
    base = Contact.objects.all() if actor is None else contacts_editable_by(actor)
    return base.filter(pk__in=list(contact_ids))


@transaction.atomic
def contacts_bulk_assign_owner(
    *, actor: AbstractBaseUser | None, contact_ids: Iterable[int], owner: AbstractBaseUser | None
) -> int:
    """Set the owner of those of ``contact_ids`` the actor may edit; returns how many changed."""
    if actor is not None and not may_assign_owner(actor, owner):
        raise PermissionDenied("You may not assign records to this owner.")
    ids = list(_bulk_target(actor, contact_ids).exclude(owner=owner).values_list("id", flat=True)
               if owner is not None else
               _bulk_target(actor, contact_ids).exclude(owner__isnull=True).values_list("id", flat=True))
    Contact.objects.filter(pk__in=ids).update(owner=owner, updated_at=timezone.now())
    return _bulk_finish(actor, ids)


@transaction.atomic
def contacts_bulk_tag(
    *, actor: AbstractBaseUser | None, contact_ids: Iterable[int], tag: str, remove: bool = False
) -> int:
    """Add (or remove) ``tag`` on those of ``contact_ids`` the actor may edit, in one UPDATE."""
    clean = tags_clean([tag])
    if not clean:
        raise ValidationError({"tag": ["Enter a tag."]})
    tag = clean[0]
    target = _bulk_target(actor, contact_ids)
    target = target.filter(tags__contains=[tag]) if remove else target.exclude(tags__contains=[tag])
    ids = list(target.values_list("id", flat=True))
    array = ArrayField(models.CharField(max_length=50))
    function = "array_remove" if remove else "array_append"
    Contact.objects.filter(pk__in=ids).update(
        tags=Func(F("tags"), Value(tag), function=function, output_field=array), updated_at=timezone.now()
    )
    return _bulk_finish(actor, ids)


@transaction.atomic
def contacts_bulk_set_lifecycle(
    *, actor: AbstractBaseUser | None, contact_ids: Iterable[int], lifecycle_stage: str
) -> int:
    """Move those of ``contact_ids`` the actor may edit to ``lifecycle_stage``, recording each change."""
    if lifecycle_stage not in Contact.Lifecycle.values:
        raise ValidationError({"lifecycle_stage": [f"“{lifecycle_stage}” is not a lifecycle stage."]})
    rows = list(_bulk_target(actor, contact_ids).exclude(lifecycle_stage=lifecycle_stage)
                .values_list("id", "lifecycle_stage"))
    ids = [pk for pk, _ in rows]
    now = timezone.now()
    Contact.objects.filter(pk__in=ids).update(lifecycle_stage=lifecycle_stage, updated_at=now)
    LifecycleChange.objects.bulk_create([
        LifecycleChange(contact_id=pk, from_stage=old, to_stage=lifecycle_stage, changed_at=now, changed_by=actor)
        for pk, old in rows
    ])
    return _bulk_finish(actor, ids)
