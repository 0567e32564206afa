"""Writes of companies. Each records a Segment ``group`` message in the CRM outbox in the same transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from crm.models import Company, Team
from crm.selectors.assignment import can_create_records, may_assign_owner
from crm.selectors.companies import companies_editable_by
from crm.services.contacts import contacts_outbox_refresh
from crm.services.custom_fields import custom_values_clean
from crm.services.outbox import outbox_record
from crm.services.records import assignment_errors, tags_clean

UPDATABLE_FIELDS = frozenset({
    "name", "domain", "industry", "size", "street", "city", "region", "postal_code", "country", "owner", "team",
    "tags", "custom",
})
# Company fields copied into each contact's traits (crm.services.contacts.contact_traits).
CONTACT_TRAIT_FIELDS = ("name", "domain", "industry")
_TEXT_FIELDS = ("name", "industry", "street", "city", "region", "postal_code")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def domain_normalize(raw: str) -> str:
    """``https://www.Acme.com/about`` → ``acme.com``; "" stays ""; raises ``ValidationError`` if not a domain."""
    text = (raw or "").strip().lower()
    if not text:
        return ""
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split(":", 1)[0]
    text = text.split("@")[-1]
    if text.startswith("www."):
        text = text[4:]
    text = text.rstrip(".")
    if not _DOMAIN_RE.match(text):
        raise ValidationError(f"“{raw}” is not a domain such as acme.com.")
    return text


def company_group_message(company: Company) -> dict[str, Any]:
    traits = dict(company.custom)
    traits.update({
        "name": company.name, "domain": company.domain or None, "website": company.domain or None,
        "industry": company.industry or None, "employees": company.size or None,
        "address": {"street": company.street, "city": company.city, "state": company.region,
                    "postalCode": company.postal_code, "country": company.country},
        "tags": list(company.tags), "crmCompanyId": company.pk, "crmOwnerId": company.owner_id,
        "createdAt": company.created_at.isoformat() if company.created_at else None,
    })
    return {
        "type": "group",
        "groupId": f"crm-company-{company.pk}",
        # Segment requires an anonymousId or userId on every message: the company speaks for itself, and the CDP
        # takes a message whose anonymousId is its group id as the account's own (no person profile).
        "anonymousId": f"crm-company-{company.pk}",
        "traits": traits,
        "timestamp": company.updated_at.isoformat() if company.updated_at else None,
    }


def company_account_sender(company_id: int) -> dict[str, Any]:
    """The sender fields of an event about a company itself: the account's own message, which the CDP attaches
    to the account and to no person (anonymousId equal to context.groupId)."""
    group_id = f"crm-company-{company_id}"
    return {"anonymousId": group_id, "context": {"groupId": group_id, "library": {"name": "crm"}}}


def _outbox_company(company: Company) -> None:
    outbox_record(object_type="company", object_id=company.pk, message=company_group_message(company))


def _domain_taken(domain: str, *, exclude_pk: int | None = None) -> bool:
    return bool(domain) and Company.objects.filter(domain=domain).exclude(pk=exclude_pk).exists()


def _save(company: Company, actor) -> None:
    company._history_user = actor
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError:
        # Lost a race for the same domain with a concurrent writer.
        raise ValidationError({"domain": [f"A company with the domain {company.domain} already exists."]}) from None


@transaction.atomic
def company_create(
    *,
    actor: AbstractBaseUser | None,
    name: str,
    domain: str = "",
    industry: str = "",
    size: str = "",
    street: str = "",
    city: str = "",
    region: str = "",
    postal_code: str = "",
    country: str = "",
    owner: AbstractBaseUser | None = None,
    team: Team | None = None,
    tags: Sequence[str] = (),
    custom: Mapping[str, Any] | None = None,
) -> Company:
    """Create a company; ``domain`` is normalized and must be unique. A rep naming no owner owns it."""
    if actor is not None and not can_create_records(actor):
        raise PermissionDenied("You may not create companies.")
    if actor is not None and owner is None and not may_assign_owner(actor, None):
        owner = actor
    company = Company(industry=industry.strip(), street=street.strip(), city=city.strip(), region=region.strip(),
                      postal_code=postal_code.strip(), owner=owner, team=team, tags=tags_clean(tags))
    errors = _apply(company, {"name": name, "domain": domain, "size": size, "country": country,
                              "custom": custom or {}}, existing_custom={})
    for key, messages in assignment_errors(actor, owner=owner, team=team, owner_changed=owner is not None).items():
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    _save(company, actor)
    _outbox_company(company)
    return company


def _apply(company: Company, changes: Mapping[str, Any], *, existing_custom: dict) -> dict[str, list[str]]:
    """Set ``changes`` on the unsaved ``company``; returns errors keyed by field."""
    errors: dict[str, list[str]] = {}
    for key, value in changes.items():
        if key == "name":
            company.name = (value or "").strip()
            if not company.name:
                errors["name"] = ["Enter the company name."]
        elif key == "domain":
            try:
                company.domain = domain_normalize(value or "")
            except ValidationError as exc:
                errors["domain"] = exc.messages
                continue
            if _domain_taken(company.domain, exclude_pk=company.pk):
                errors["domain"] = [f"A company with the domain {company.domain} already exists."]
        elif key == "size":
            if value and value not in Company.Size.values:
                errors["size"] = [f"“{value}” is not a size band ({', '.join(Company.Size.values)})."]
            company.size = value or ""
        elif key == "country":
            code = (value or "").strip().upper()
            if code and not re.fullmatch(r"[A-Z]{2}", code):
                errors["country"] = ["Use a two-letter country code such as DE."]
            company.country = code
        elif key == "custom":
            try:
                company.custom = custom_values_clean(object_type="company", values=dict(value or {}),
                                                     existing=existing_custom)
            except ValidationError as exc:
                for field_key, messages in exc.message_dict.items():
                    errors[f"custom.{field_key}"] = messages
        elif key == "tags":
            company.tags = tags_clean(value or [])
        elif key in ("owner", "team"):
            setattr(company, key, value)
        elif key in _TEXT_FIELDS:
            setattr(company, key, (value or "").strip())
    return errors


@transaction.atomic
def company_update(*, company: Company, actor: AbstractBaseUser | None, changes: Mapping[str, Any]) -> Company:
    """Apply ``changes`` (any of ``UPDATABLE_FIELDS``; ``custom`` is merged) to a company ``actor`` may edit."""
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({key: ["This field cannot be changed."] for key in sorted(unknown)})
    base = Company.objects if actor is None else companies_editable_by(actor)
    locked = base.select_for_update(of=("self",)).filter(pk=company.pk).first()
    if locked is None:
        raise PermissionDenied("You may not edit this company.")
    company = locked
    old_owner_id, old_team_id = company.owner_id, company.team_id
    shown_on_contacts = {name: getattr(company, name) for name in CONTACT_TRAIT_FIELDS}
    errors = _apply(company, changes, existing_custom=company.custom)
    for key, messages in assignment_errors(actor, owner=company.owner, team=company.team,
                                           owner_changed=company.owner_id != old_owner_id,
                                           team_changed=company.team_id != old_team_id).items():
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    _save(company, actor)
    _outbox_company(company)
    if any(getattr(company, name) != before for name, before in shown_on_contacts.items()):
        contacts_outbox_refresh(contact_ids=company.contacts.values_list("pk", flat=True))
    return company


@transaction.atomic
def company_delete(*, company: Company, actor: AbstractBaseUser | None) -> None:
    """Delete a company the actor may edit; its contacts stay, without company."""
    base = Company.objects if actor is None else companies_editable_by(actor)
    if not base.filter(pk=company.pk).exists():
        raise PermissionDenied("You may not delete this company.")
    company_id = company.pk
    contact_ids = list(company.contacts.values_list("pk", flat=True))
    company._history_user = actor
    company.delete()
    contacts_outbox_refresh(contact_ids=contact_ids)  # their profiles lose the company with it
    outbox_record(object_type="company", object_id=company_id, message={
        "type": "track", "event": "CRM Company Deleted", **company_account_sender(company_id),
        "properties": {"crmCompanyId": company_id, "groupId": f"crm-company-{company_id}"},
    })
