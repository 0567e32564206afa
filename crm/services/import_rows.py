"""Planning and writing one chunk of import rows (contacts or companies), set-based.

``plan()`` cleans every row, then looks up everything the chunk refers to with a fixed number of queries
(owners, companies, existing records by upsert key, whether the importer may edit them) and decides per row:
create, update or error. ``write()`` then stores the whole chunk with bulk inserts/updates, history rows and
outbox messages. The preview uses ``plan()`` only. Rows whose key matches a record the importer may not edit
are errors; a new record is owned by the importer unless the mapped owner is one the importer may assign.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import connection, models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from crm.models import (
    Company,
    Contact,
    ContactEmail,
    ContactPhone,
    CustomFieldDefinition,
    LifecycleChange,
)
from crm.selectors.assignment import assignable_owners
from crm.selectors.companies import companies_editable_by, companies_visible_to
from crm.selectors.contacts import contacts_editable_by
from crm.selectors.visibility import is_admin
from crm.services.companies import company_group_message, domain_normalize
from crm.services.contacts import contact_identify_message
from crm.services.custom_fields import custom_values_clean
from crm.services.outbox import outbox_record_many
from crm.services.phones import phone_normalize
from crm.services.records import tags_clean

CONTACT_FIELDS: dict[str, str] = {
    "email": "Email (the upsert key)",
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last name)",
    "emails": "More emails (separated by ; or ,)",
    "phone": "Phone",
    "phones": "More phones (separated by ; or ,)",
    "title": "Job title",
    "company_name": "Company name",
    "company_domain": "Company domain",
    "owner": "Owner (username or email)",
    "lifecycle_stage": "Lifecycle stage",
    "lead_source": "Lead source",
    "tags": "Tags (separated by ; or ,)",
}
COMPANY_FIELDS: dict[str, str] = {
    "domain": "Domain (the upsert key)",
    "name": "Name",
    "industry": "Industry",
    "size": "Size",
    "street": "Street",
    "city": "City",
    "region": "Region / state",
    "postal_code": "Postal code",
    "country": "Country (2-letter code)",
    "owner": "Owner (username or email)",
    "tags": "Tags (separated by ; or ,)",
}
_SPLIT = re.compile(r"[;,]")


@dataclass
class RowPlan:
    """What the import does with one row: ``action`` is create, update or error."""

    row_number: int
    cells: list[str]
    action: str = "error"
    errors: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    target: Any = None


def _tags(text: str) -> list[str]:
    return tags_clean(_SPLIT.split(text))


def _max_len(model, name: str, value: str, label: str, errors: list[str]) -> str:
    limit = model._meta.get_field(name).max_length
    if limit and len(value) > limit:
        errors.append(f"{label} is longer than {limit} characters.")
    return value


def _choice(choices, text: str) -> str | None:
    wanted = text.strip().lower().replace("–", "-")
    for value, label in choices:
        if wanted in (value.lower(), str(label).lower().replace("–", "-"), value.lower().replace("_", " ")):
            return value
    return None


def _emails_owners(emails: set[str]) -> list[tuple[str, int]]:
    """(email, contact id) for contacts having any of ``emails``, primary addresses first.

    A join with ``unnest`` rather than ``email IN (...)``: with a long IN list Postgres picks the trigram GIN
    index of ``crm_contactemail.email`` (a bitmap scan rechecking every candidate, 20 s for 1,000 emails)
    over its btree; the join lets it hash or use the btree (milliseconds).
    """
    if not emails:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.email, e.contact_id FROM {ContactEmail._meta.db_table} e "
            "JOIN unnest(%s::text[]) AS k(email) ON e.email = k.email ORDER BY e.is_primary DESC, e.contact_id",
            [sorted(emails)])
        return cursor.fetchall()


def rows_update(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of every object in one ``UPDATE ... FROM jsonb_to_recordset(...)``.

    Django's ``bulk_update`` builds a CASE expression per field and row, which costs more Python time than the
    rest of an import chunk; this sends the chunk as one JSON parameter. Arrays travel as JSON arrays.
    """
    if not objs:
        return
    columns, sets, payload = ["id bigint"], [], []
    concrete = [model._meta.get_field(name) for name in fields]
    for f in concrete:
        if isinstance(f, ArrayField):
            columns.append(f"{f.column} jsonb")
            sets.append(f'"{f.column}" = ARRAY(SELECT jsonb_array_elements_text(v.{f.column}))')
        else:
            db_type = "bigint" if f.is_relation else f.db_type(connection)
            columns.append(f"{f.column} {db_type}")
            sets.append(f'"{f.column}" = v.{f.column}')
    for obj in objs:
        row = {"id": obj.pk}
        for f in concrete:
            value = getattr(obj, f.attname)
            row[f.column] = value.isoformat() if hasattr(value, "isoformat") else value
        payload.append(row)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" AS t SET {", ".join(sets)} '
            f'FROM jsonb_to_recordset(%s::jsonb) AS v({", ".join(columns)}) WHERE t.id = v.id',
            [json.dumps(payload, cls=DjangoJSONEncoder)],
        )


class _Rows:
    """Shared machinery of the contact and company chunk planners."""

    model: type
    object_type: str
    fields: dict[str, str]

    def __init__(self, *, actor: AbstractBaseUser, mapping: dict[str, str], phone_region: str = "",
                 owner_cache: dict[str, Any] | None = None) -> None:
        self.actor = actor
        self.index = {f: int(i) for i, f in mapping.items() if f}
        self.phone_region = phone_region or None
        self.definitions = list(CustomFieldDefinition.objects.filter(object_type=self.object_type))
        self.labels = {d.key: d.label for d in self.definitions}
        self.owner_cache = owner_cache if owner_cache is not None else {}
        self.plans: list[RowPlan] = []
        self.now = timezone.now()

    def raw(self, cells: Sequence[str]) -> dict[str, str]:
        """The mapped, non-empty cells of a row by field."""
        values = {}
        for name, i in self.index.items():
            text = cells[i].strip() if i < len(cells) and cells[i] is not None else ""
            if text:
                values[name] = text
        return values

    def custom_raw(self, raw: dict[str, str]) -> dict[str, str]:
        return {name[7:]: value for name, value in raw.items() if name.startswith("custom:")}

    def custom_clean(self, values: dict[str, str], existing: dict, plan: RowPlan) -> dict | None:
        try:
            return custom_values_clean(object_type=self.object_type, values=values, existing=existing,
                                       definitions=self.definitions)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                plan.errors.extend(f"{self.labels.get(key, key)}: {m}" for m in messages)
            return None

    def resolve_owners(self, refs: set[str]) -> None:
        """Fill ``owner_cache`` (lower-cased username/email → user or error text) for ``refs``; two queries."""
        missing = {r for r in refs if r not in self.owner_cache}
        if not missing:
            return
        User = get_user_model()
        users = list(User.objects.annotate(lu=Lower("username"), le=Lower("email"))
                     .filter(Q(lu__in=missing) | Q(le__in=missing), is_active=True))
        allowed = set(assignable_owners(self.actor).filter(pk__in=[u.pk for u in users]).values_list("id", flat=True))
        found: dict[str, Any] = {}
        for user in users:
            for key in (user.lu, user.le):
                if key in missing and (key not in found or key == user.lu):
                    found[key] = user
        for ref in missing:
            user = found.get(ref)
            if user is None:
                self.owner_cache[ref] = f"There is no active user “{ref}”."
            elif user.pk not in allowed:
                self.owner_cache[ref] = f"You may not assign records to {ref}."
            else:
                self.owner_cache[ref] = user

    def owner_for(self, raw: dict[str, str], plan: RowPlan):
        ref = raw.get("owner", "").lower()
        if not ref:
            return None
        owner = self.owner_cache.get(ref)
        if isinstance(owner, str):
            plan.errors.append(owner)
            return None
        return owner

    def write_history_and_outbox(self, created: list, updated: list) -> None:
        if created:
            self.model.history.bulk_history_create(created, default_user=self.actor, default_date=self.now)
        if updated:
            self.model.history.bulk_history_create(updated, update=True, default_user=self.actor,
                                                   default_date=self.now)
        outbox_record_many(object_type=self.object_type,
                           items=[(obj.pk, self.message(obj)) for obj in [*created, *updated]])

    def message(self, obj) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


class ContactRows(_Rows):
    model = Contact
    object_type = "contact"
    fields = CONTACT_FIELDS

    def message(self, obj: Contact) -> dict[str, Any]:
        return contact_identify_message(obj)

    def clean(self, plan: RowPlan) -> dict[str, Any]:
        raw = self.raw(plan.cells)
        errors = plan.errors
        v: dict[str, Any] = {"raw": raw}
        first, last = raw.get("first_name", ""), raw.get("last_name", "")
        if raw.get("full_name") and not (first or last):
            parts = raw["full_name"].rsplit(" ", 1)
            first, last = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        v["first_name"] = _max_len(Contact, "first_name", first, "First name", errors)
        v["last_name"] = _max_len(Contact, "last_name", last, "Last name", errors)
        for name, label in (("title", "Job title"), ("lead_source", "Lead source")):
            v[name] = _max_len(Contact, name, raw.get(name, ""), label, errors)
        emails: list[str] = []
        for text in [raw.get("email", "")] + _SPLIT.split(raw.get("emails", "")):
            email = text.strip().lower()
            if not email:
                continue
            try:
                validate_email(email)
            except ValidationError:
                errors.append(f"“{text.strip()}” is not a valid email address.")
                continue
            if email not in emails:
                emails.append(email)
        v["key"] = raw.get("email", "").strip().lower() if "email" in raw and emails else ""
        v["emails"] = emails
        phones: list[str] = []
        for text in [raw.get("phone", "")] + _SPLIT.split(raw.get("phones", "")):
            if not text.strip():
                continue
            try:
                number = phone_normalize(raw=text, region=self.phone_region)
            except ValidationError as exc:
                errors.extend(exc.messages)
                continue
            if number not in phones:
                phones.append(number)
        v["phones"] = phones
        if raw.get("lifecycle_stage"):
            stage = _choice(Contact.Lifecycle.choices, raw["lifecycle_stage"])
            if stage is None:
                errors.append(f"“{raw['lifecycle_stage']}” is not a lifecycle stage.")
            v["lifecycle_stage"] = stage
        v["tags"] = _tags(raw.get("tags", ""))
        if raw.get("company_domain"):
            try:
                v["company_domain"] = domain_normalize(raw["company_domain"])
            except ValidationError as exc:
                errors.extend(exc.messages)
        v["company_name"] = raw.get("company_name", "")[:200]
        v["custom"] = self.custom_raw(raw)
        return v

    def plan(self, rows: Sequence[tuple[int, list[str]]], *, lock: bool = False) -> list[RowPlan]:
        self.plans = [RowPlan(row_number=n, cells=cells) for n, cells in rows]
        cleaned = [self.clean(p) for p in self.plans]
        self.resolve_owners({v["raw"]["owner"].lower() for v in cleaned if v["raw"].get("owner")})
        companies = self._companies(cleaned)
        keys = {v["key"] for v in cleaned if v["key"]}
        match: dict[str, int] = {}
        for email, contact_id in _emails_owners(keys):
            match.setdefault(email, contact_id)
        matched = set(match.values())
        editable = matched if is_admin(self.actor) else set(
            contacts_editable_by(self.actor).filter(pk__in=matched).values_list("id", flat=True))
        existing_qs = Contact.objects.filter(pk__in=editable).select_related("company", "owner")
        if lock:
            existing_qs = existing_qs.select_for_update(of=("self",)).order_by("id")
        existing = {c.pk: c for c in existing_qs}
        self.known_emails: dict[int, list[str]] = {}
        for contact_id, email in ContactEmail.objects.filter(contact_id__in=editable).values_list("contact_id",
                                                                                                  "email"):
            self.known_emails.setdefault(contact_id, []).append(email)
        self.known_phones: dict[int, list[str]] = {}
        for contact_id, number in ContactPhone.objects.filter(contact_id__in=editable).values_list("contact_id",
                                                                                                   "number"):
            self.known_phones.setdefault(contact_id, []).append(number)
        self.old_stage = {pk: c.lifecycle_stage for pk, c in existing.items()}
        self.new_emails: dict[int, list[str]] = {}  # id(contact) → emails to add
        self.new_phones: dict[int, list[str]] = {}
        pending: dict[str, Contact] = {}
        self.created: dict[int, Contact] = {}
        self.updated: dict[int, Contact] = {}
        for plan, v in zip(self.plans, cleaned, strict=True):
            owner = self.owner_for(v["raw"], plan)
            company = self._company_for(v, companies, plan)
            target, is_new = None, True
            if v["key"] and v["key"] in match:
                contact_id = match[v["key"]]
                if contact_id not in existing:
                    plan.errors.append(f"A contact with the email {v['key']} exists and you may not edit it.")
                else:
                    target, is_new = existing[contact_id], False
            elif v["key"] in pending:
                target, is_new = pending[v["key"]], False
            if target is None and is_new and not (v["first_name"] or v["last_name"] or v["emails"]):
                plan.errors.append("The row has no name and no email.")
            custom = self.custom_clean(v["custom"], target.custom if target is not None else {}, plan)
            if plan.errors:
                continue
            if target is None:
                target = Contact(owner=owner or self.actor, lifecycle_stage=v.get("lifecycle_stage") or "lead",
                                 custom={}, tags=[], email="", phone="")
                self.created[id(target)] = target
                if v["key"]:
                    pending[v["key"]] = target
                plan.action = "create"
            else:
                if target.pk:
                    self.updated[id(target)] = target
                plan.action = "update"
            self._apply(target, v, owner=owner, company=company, custom=custom)
            plan.target = target
            plan.values = {"name": target.full_name, "email": target.email, "owner": target.owner,
                           "company": target.company.name if target.company else ""}
        return self.plans

    def _companies(self, cleaned: list[dict]) -> dict[str, Any]:
        """Companies named by domain or name: {("d", domain) | ("n", lower name): Company or error}."""
        domains = {v["company_domain"] for v in cleaned if v.get("company_domain")}
        names = {v["company_name"].lower() for v in cleaned if v["company_name"] and not v.get("company_domain")}
        found: dict[tuple[str, str], Any] = {}
        if domains:
            by_domain = {c.domain: c for c in Company.objects.filter(domain__in=domains)}
            visible = set(companies_visible_to(self.actor).filter(pk__in=[c.pk for c in by_domain.values()])
                          .values_list("id", flat=True))
            for domain in domains:
                company = by_domain.get(domain)
                if company is None:
                    continue
                found[("d", domain)] = company if company.pk in visible else (
                    f"A company with the domain {domain} exists and you may not see it.")
        if names:
            for company in (companies_visible_to(self.actor).annotate(lname=Lower("name"))
                            .filter(lname__in=names).order_by("id")):
                found.setdefault(("n", company.lname), company)
        self.new_companies: list[Company] = []
        return found

    def _company_for(self, v: dict, companies: dict, plan: RowPlan) -> Company | None:
        domain, name = v.get("company_domain", ""), v["company_name"]
        if not (domain or name):
            return None
        key = ("d", domain) if domain else ("n", name.lower())
        company = companies.get(key)
        if isinstance(company, str):
            plan.errors.append(company)
            return None
        if company is None:
            company = Company(name=name or domain, domain=domain, owner=self.actor, tags=[], custom={})
            companies[key] = company
            self.new_companies.append(company)
        return company

    def _apply(self, contact: Contact, v: dict, *, owner, company, custom) -> None:
        for name in ("first_name", "last_name", "title", "lead_source"):
            if v[name]:
                setattr(contact, name, v[name])
        if owner is not None:
            contact.owner = owner
        if company is not None:
            contact.company = company
        if v.get("lifecycle_stage"):
            contact.lifecycle_stage = v["lifecycle_stage"]
        contact.tags = list(dict.fromkeys([*contact.tags, *v["tags"]]))
        if custom is not None:
            contact.custom = custom
        known = self.known_emails.get(contact.pk, []) if contact.pk else []
        adding = self.new_emails.setdefault(id(contact), [])
        for email in v["emails"]:
            if email not in known and email not in adding:
                adding.append(email)
        if not contact.email and (adding or known):
            contact.email = (known or adding)[0]
        known_p = self.known_phones.get(contact.pk, []) if contact.pk else []
        adding_p = self.new_phones.setdefault(id(contact), [])
        for number in v["phones"]:
            if number not in known_p and number not in adding_p:
                adding_p.append(number)
        if not contact.phone and (known_p or adding_p):
            contact.phone = (known_p or adding_p)[0]

    def write(self) -> None:
        """Store the planned chunk. Preconditions: ``plan(lock=True)`` ran in the current transaction."""
        if self.new_companies:
            Company.objects.bulk_create(self.new_companies)
            Company.history.bulk_history_create(self.new_companies, default_user=self.actor, default_date=self.now)
            outbox_record_many(object_type="company",
                               items=[(c.pk, company_group_message(c)) for c in self.new_companies])
        created = list(self.created.values())
        updated = list(self.updated.values())
        for contact in [*created, *updated]:
            if contact.company is not None and contact.company_id is None:
                # A company created just above: assigning the object again copies its new id and keeps it cached.
                contact.company = contact.company
        Contact.objects.bulk_create(created, batch_size=1000)
        for contact in updated:
            contact.updated_at = self.now
        rows_update(Contact, updated, ["first_name", "last_name", "title", "company", "owner", "lifecycle_stage",
                                       "lead_source", "tags", "custom", "email", "phone", "updated_at"])
        emails, phones, changes = [], [], []
        for contact in [*created, *updated]:
            for email in self.new_emails.get(id(contact), []):
                emails.append(ContactEmail(contact=contact, email=email, is_primary=email == contact.email
                                           and email not in self.known_emails.get(contact.pk, [])))
            for number in self.new_phones.get(id(contact), []):
                phones.append(ContactPhone(contact=contact, number=number))
        for contact in created:
            changes.append(LifecycleChange(contact=contact, from_stage="", to_stage=contact.lifecycle_stage,
                                           changed_at=self.now, changed_by=self.actor))
        for contact in updated:
            if self.old_stage[contact.pk] != contact.lifecycle_stage:
                changes.append(LifecycleChange(contact=contact, from_stage=self.old_stage[contact.pk],
                                               to_stage=contact.lifecycle_stage, changed_at=self.now,
                                               changed_by=self.actor))
        ContactEmail.objects.bulk_create(emails, batch_size=2000)
        ContactPhone.objects.bulk_create(phones, batch_size=2000)
        LifecycleChange.objects.bulk_create(changes, batch_size=2000)
        self.write_history_and_outbox(created, updated)


class CompanyRows(_Rows):
    model = Company
    object_type = "company"
    fields = COMPANY_FIELDS

    def message(self, obj: Company) -> dict[str, Any]:
        return company_group_message(obj)

    def clean(self, plan: RowPlan) -> dict[str, Any]:
        raw = self.raw(plan.cells)
        errors = plan.errors
        v: dict[str, Any] = {"raw": raw, "key": ""}
        if raw.get("domain"):
            try:
                v["key"] = domain_normalize(raw["domain"])
            except ValidationError as exc:
                errors.extend(exc.messages)
        for name in ("name", "industry", "street", "city", "region", "postal_code"):
            v[name] = _max_len(Company, name, raw.get(name, ""), COMPANY_FIELDS[name], errors)
        if raw.get("size"):
            v["size"] = _choice(Company.Size.choices, raw["size"])
            if v["size"] is None:
                errors.append(f"“{raw['size']}” is not a size band ({', '.join(Company.Size.values)}).")
        country = raw.get("country", "").upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            errors.append(f"“{raw['country']}” is not a two-letter country code such as DE.")
        v["country"] = country
        v["tags"] = _tags(raw.get("tags", ""))
        v["custom"] = self.custom_raw(raw)
        return v

    def plan(self, rows: Sequence[tuple[int, list[str]]], *, lock: bool = False) -> list[RowPlan]:
        self.plans = [RowPlan(row_number=n, cells=cells) for n, cells in rows]
        cleaned = [self.clean(p) for p in self.plans]
        self.resolve_owners({v["raw"]["owner"].lower() for v in cleaned if v["raw"].get("owner")})
        keys = {v["key"] for v in cleaned if v["key"]}
        match = dict(Company.objects.filter(domain__in=keys).values_list("domain", "id"))
        editable = set(match.values()) if is_admin(self.actor) else set(
            companies_editable_by(self.actor).filter(pk__in=match.values()).values_list("id", flat=True))
        existing_qs = Company.objects.filter(pk__in=editable).select_related("owner")
        if lock:
            existing_qs = existing_qs.select_for_update(of=("self",)).order_by("id")
        existing = {c.pk: c for c in existing_qs}
        pending: dict[str, Company] = {}
        self.created: dict[int, Company] = {}
        self.updated: dict[int, Company] = {}
        for plan, v in zip(self.plans, cleaned, strict=True):
            owner = self.owner_for(v["raw"], plan)
            target = None
            if v["key"] in match:
                if match[v["key"]] not in existing:
                    plan.errors.append(f"A company with the domain {v['key']} exists and you may not edit it.")
                else:
                    target = existing[match[v["key"]]]
            elif v["key"] in pending:
                target = pending[v["key"]]
            if target is None and not v["name"]:
                plan.errors.append("A new company needs a name.")
            custom = self.custom_clean(v["custom"], target.custom if target is not None else {}, plan)
            if plan.errors:
                continue
            if target is None:
                target = Company(owner=owner or self.actor, domain=v["key"], tags=[], custom={})
                self.created[id(target)] = target
                if v["key"]:
                    pending[v["key"]] = target
                plan.action = "create"
            else:
                if target.pk:
                    self.updated[id(target)] = target
                plan.action = "update"
            for name in ("name", "industry", "street", "city", "region", "postal_code", "country", "size"):
                if v.get(name):
                    setattr(target, name, v[name])
            if owner is not None:
                target.owner = owner
            target.tags = list(dict.fromkeys([*target.tags, *v["tags"]]))
            target.custom = custom
            plan.target = target
            plan.values = {"name": target.name, "domain": target.domain, "owner": target.owner}
        return self.plans

    def write(self) -> None:
        """Store the planned chunk. Preconditions: ``plan(lock=True)`` ran in the current transaction."""
        created = list(self.created.values())
        Company.objects.bulk_create(created, batch_size=1000)
        updated = list(self.updated.values())
        for company in updated:
            company.updated_at = self.now
        rows_update(Company, updated, ["name", "industry", "size", "street", "city", "region", "postal_code",
                                       "country", "owner", "tags", "custom", "updated_at"])
        self.write_history_and_outbox(created, updated)


def rows_planner(object_type: str):
    return ContactRows if object_type == "contact" else CompanyRows


def import_fields(object_type: str) -> dict[str, str]:
    """Fields a column may be mapped to: standard ones, then ``custom:<key>`` for each custom field."""
    fields = dict(CONTACT_FIELDS if object_type == "contact" else COMPANY_FIELDS)
    for definition in CustomFieldDefinition.objects.filter(object_type=object_type).order_by("order", "id"):
        fields[f"custom:{definition.key}"] = f"{definition.label} (custom)"
    return fields
