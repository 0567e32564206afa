"""Merging duplicate contacts (and companies): nothing of either record is lost, and the merge is recorded.

Every relation that points at the model is re-pointed generically (reverse foreign keys, one-to-ones and
many-to-many links, including hidden ones and relations added later by other apps such as tickets), so
activities, deals, tickets, lifecycle changes and notes of both end up on the survivor. History snapshot
tables (simple_history) are left as written: an audit trail is not rewritten. Rows that would
collide with a unique constraint after re-pointing (the survivor already has that deal, that email) are
duplicates by definition and are dropped. The other record's own history rows stay in the history table
under its id; the survivor gets a history entry naming the merge, and a ``ContactMerge`` keeps the other's
snapshot and the field choices.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q, QuerySet

from crm.models import Company, CompanyMerge, Contact, ContactEmail, ContactMerge, ContactPhone, LifecycleChange
from crm.selectors.companies import companies_editable_by
from crm.selectors.contacts import contacts_editable_by
from crm.services.companies import company_account_sender, company_group_message
from crm.services.contacts import contact_identify_message, contacts_outbox_refresh
from crm.services.duplicates import duplicates_forget
from crm.services.outbox import outbox_record
from crm.services.records import assignment_check

CONTACT_MERGE_FIELDS = ("first_name", "last_name", "title", "company", "owner", "team", "lifecycle_stage",
                        "lead_source", "email", "phone")
COMPANY_MERGE_FIELDS = ("name", "domain", "industry", "size", "street", "city", "region", "postal_code",
                        "country", "owner", "team")
CHOICES = ("survivor", "other")


def _json(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _snapshot(obj: models.Model) -> dict[str, Any]:
    data = {f.attname: _json(getattr(obj, f.attname)) for f in obj._meta.concrete_fields
            if not isinstance(f, models.GeneratedField)}
    if isinstance(obj, Contact):
        data["emails"] = list(obj.emails.order_by("-is_primary", "id").values_list("email", flat=True))
        data["phones"] = list(obj.phones.order_by("id").values_list("number", flat=True))
    return data


def _unique_field_sets(model: type[models.Model], fk_name: str) -> list[tuple[list[str], Q | None]]:
    """Unique field sets of ``model`` that include ``fk_name`` (with the constraint's condition, if any)."""
    sets: list[tuple[list[str], Q | None]] = []
    for names in model._meta.unique_together:
        if fk_name in names:
            sets.append((list(names), None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and fk_name in constraint.fields:
            sets.append((list(constraint.fields), constraint.condition))
    return sets


def _repoint(model: type[models.Model], fk: models.Field, *, other_pk: int, survivor_pk: int) -> int:
    """Point ``model.fk`` rows of ``other`` at ``survivor``; drop the ones a unique constraint would refuse.
    Returns how many rows were moved."""
    fk_name = fk.name
    rows = model._base_manager.filter(**{fk.attname: other_pk})
    for names, condition in _unique_field_sets(model, fk_name):
        rest = [model._meta.get_field(n).attname for n in names if n != fk_name]
        survivor_rows = model._base_manager.filter(**{fk.attname: survivor_pk})
        clashing = rows
        if condition is not None:
            survivor_rows = survivor_rows.filter(condition)
            clashing = clashing.filter(condition)
        if rest:
            keys = survivor_rows.values_list(*rest)
            clash_q = Q()
            for key in keys:
                clash_q |= Q(**dict(zip(rest, key, strict=True)))
            if clash_q:
                clashing.filter(clash_q).delete()
        elif survivor_rows.exists():
            clashing.delete()
    return model._base_manager.filter(**{fk.attname: other_pk}).update(**{fk.attname: survivor_pk})


def _reverse_relations(model: type[models.Model]):
    """(related model, its field pointing at ``model``) for every FK/O2O/M2M that points at ``model``,
    hidden ones included. M2M links are handled through their through model's foreign key."""
    for rel in model._meta.get_fields(include_hidden=True):
        if not (rel.is_relation and rel.auto_created and not rel.concrete):
            continue
        if rel.many_to_many:
            through = rel.through if hasattr(rel, "through") else rel.remote_field.through
            for f in through._meta.concrete_fields:
                if f.is_relation and f.related_model is model:
                    yield through, f
        else:
            yield rel.related_model, rel.field
    for m2m in model._meta.many_to_many:  # the model's own M2M fields
        through = m2m.remote_field.through
        for f in through._meta.concrete_fields:
            if f.is_relation and f.related_model is model:
                yield through, f


def relations_repoint(*, model: type[models.Model], other_pk: int, survivor_pk: int,
                      skip: tuple[type[models.Model], ...] = ()) -> dict[str, int]:
    """Re-point every relation to ``model`` from ``other_pk`` to ``survivor_pk``; returns rows moved per relation."""
    moved: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for related, fk in _reverse_relations(model):
        key = (related._meta.label, fk.name)
        if key in seen or related in skip or related._meta.proxy:
            continue
        if getattr(related, "instance_type", None) is not None:
            # simple_history snapshots: the audit trail stays as it was written (the merge itself is recorded).
            continue
        seen.add(key)
        count = _repoint(related, fk, other_pk=other_pk, survivor_pk=survivor_pk)
        if count:
            moved[f"{related._meta.label}.{fk.name}"] = count
    return moved


def _choose(field_choices: dict[str, str], allowed: set[str]) -> dict[str, str]:
    unknown = set(field_choices) - allowed
    bad = {k for k, v in field_choices.items() if v not in CHOICES}
    errors = {k: ["This field cannot be chosen."] for k in unknown}
    errors |= {k: ["Choose “survivor” or “other”."] for k in bad - unknown}
    if errors:
        raise ValidationError(errors)
    return field_choices


def _lock_pair(editable: QuerySet, survivor: models.Model, other: models.Model, *, denied: str, **lock: Any):
    """Both records row-locked in id order (a fixed order: two merges of the same pair cannot deadlock), fresh
    from the database. Raises ``PermissionDenied(denied)`` unless ``editable`` holds both."""
    locked = {r.pk: r for r in editable.select_for_update(**lock).filter(pk__in=[survivor.pk, other.pk])
              .order_by("pk")}
    if len(locked) != 2:
        raise PermissionDenied(denied)
    return locked[survivor.pk], locked[other.pk]


def fields_merge(survivor: models.Model, other: models.Model, *, names: tuple[str, ...],
                 field_choices: dict[str, str], actor: AbstractBaseUser | None) -> dict[str, str]:
    """Give ``survivor`` the merged values of both records, in memory; returns the validated choices.

    ``field_choices`` maps a field of ``names`` or ``custom.<key>`` to ``"survivor"`` or ``"other"``; unnamed
    fields keep the survivor's value, or take the other's where the survivor's is empty. Custom values are united
    (a chosen ``other`` key the other lacks is dropped) and so are tags. Raises ``ValidationError`` for a bad
    choice or an owner/team the actor may not assign.
    """
    custom_keys = {*survivor.custom, *other.custom}
    choices = _choose(dict(field_choices or {}), set(names) | {f"custom.{k}" for k in custom_keys})
    old_owner_id, old_team_id = survivor.owner_id, survivor.team_id
    for name in names:
        attname = survivor._meta.get_field(name).attname
        mine, theirs = getattr(survivor, attname), getattr(other, attname)
        if choices.get(name) == "other" or (name not in choices and mine in (None, "") and theirs not in (None, "")):
            setattr(survivor, attname, theirs)
    custom = dict(other.custom) | dict(survivor.custom)
    for key in custom_keys:
        if choices.get(f"custom.{key}") == "other":
            if key in other.custom:
                custom[key] = other.custom[key]
            else:
                custom.pop(key, None)
    survivor.custom = custom
    survivor.tags = list(dict.fromkeys([*survivor.tags, *other.tags]))
    assignment_check(actor, owner=survivor.owner, team=survivor.team,
                     owner_changed=survivor.owner_id != old_owner_id, team_changed=survivor.team_id != old_team_id)
    return choices


def _merge_message(survivor: Contact, other_id: int, choices: dict[str, str]) -> list[dict[str, Any]]:
    ids = [{"id": str(pk), "type": "crm_contact_id", "collection": "users", "encoding": "none"}
           for pk in (survivor.pk, other_id)]
    identify = contact_identify_message(survivor)
    identify["context"] = {**identify.get("context", {}), "externalIds": ids}
    merged = {
        "type": "track", "event": "CRM Contacts Merged", "anonymousId": f"crm-contact-{survivor.pk}",
        "properties": {"crmContactId": survivor.pk, "mergedCrmContactId": other_id,
                       "previousAnonymousId": f"crm-contact-{other_id}", "fieldChoices": choices},
        "context": {"externalIds": ids, "library": {"name": "crm"}},
        # Not later than the identify that follows (which names both contacts too): the merge comes first.
        "timestamp": identify["timestamp"],
    }
    return [merged, identify]


@transaction.atomic
def contact_merge(*, survivor: Contact, other: Contact, field_choices: dict[str, str],
                  actor: AbstractBaseUser | None) -> ContactMerge:
    """Merge ``other`` into ``survivor`` and delete ``other``.

    ``field_choices`` maps a field of ``CONTACT_MERGE_FIELDS`` or ``custom.<key>`` to ``"survivor"`` or
    ``"other"``; unnamed fields keep the survivor's value, or take the other's where the survivor's is empty.
    Emails, phones and tags are united; every related row of ``other`` is re-pointed to ``survivor``.
    Raises ``PermissionDenied`` unless ``actor`` may edit both (None = system) and ``ValidationError`` for bad
    choices, merging a contact with itself, or choosing an owner the actor may not assign.
    """
    if survivor.pk == other.pk:
        raise ValidationError({"other": ["A contact cannot be merged with itself."]})
    survivor, other = _lock_pair(Contact.objects.all() if actor is None else contacts_editable_by(actor),
                                 survivor, other, denied="You may not edit both contacts.", of=("self",))
    other_snapshot = _snapshot(other)
    old_stage = survivor.lifecycle_stage
    choices = fields_merge(survivor, other, names=CONTACT_MERGE_FIELDS, field_choices=field_choices, actor=actor)

    # Emails and phones: the other's become secondary rows of the survivor (duplicates dropped).
    ContactEmail.objects.filter(contact=other).update(is_primary=False)
    moved = relations_repoint(model=Contact, other_pk=other.pk, survivor_pk=survivor.pk)
    emails = list(ContactEmail.objects.filter(contact=survivor).order_by("-is_primary", "id"))
    primary = survivor.email if survivor.email in {e.email for e in emails} else (emails[0].email if emails else "")
    survivor.email = primary
    ContactEmail.objects.filter(contact=survivor, is_primary=True).exclude(email=primary).update(is_primary=False)
    ContactEmail.objects.filter(contact=survivor, email=primary).update(is_primary=True)
    numbers = list(ContactPhone.objects.filter(contact=survivor).order_by("id").values_list("number", flat=True))
    if survivor.phone not in numbers:
        survivor.phone = numbers[0] if numbers else ""

    other_id = other.pk
    duplicates_forget(contact_ids=[other_id])
    other._history_user = actor
    other._change_reason = f"Merged into contact #{survivor.pk}"
    other.delete()
    survivor._history_user = actor
    survivor._change_reason = f"Merged contact #{other_id} ({other_snapshot['first_name']} " \
                              f"{other_snapshot['last_name']}) into this one"
    survivor.save()
    if survivor.lifecycle_stage != old_stage:
        LifecycleChange.objects.create(contact=survivor, from_stage=old_stage, to_stage=survivor.lifecycle_stage,
                                       changed_by=actor)
    survivor = Contact.objects.select_related("company").get(pk=survivor.pk)
    record = ContactMerge.objects.create(
        survivor=survivor, survivor_id_at_merge=survivor.pk, other_id=other_id, merged_by=actor,
        field_choices=choices, other_snapshot=other_snapshot, merged_snapshot=_snapshot(survivor), moved=moved)
    for message in _merge_message(survivor, other_id, choices):
        outbox_record(object_type="contact", object_id=survivor.pk, message=message)
    return record


@transaction.atomic
def company_merge(*, survivor: Company, other: Company, field_choices: dict[str, str],
                  actor: AbstractBaseUser | None) -> CompanyMerge:
    """Merge company ``other`` into ``survivor`` (contacts, deals, activities and every other relation move),
    then delete ``other``. Same rules as ``contact_merge``; the domain is unique, so a chosen domain of the
    other company is taken over only after the other is deleted."""
    if survivor.pk == other.pk:
        raise ValidationError({"other": ["A company cannot be merged with itself."]})
    survivor, other = _lock_pair(Company.objects.all() if actor is None else companies_editable_by(actor),
                                 survivor, other, denied="You may not edit both companies.")
    other_snapshot = _snapshot(other)
    choices = fields_merge(survivor, other, names=COMPANY_MERGE_FIELDS, field_choices=field_choices, actor=actor)
    moved = relations_repoint(model=Company, other_pk=other.pk, survivor_pk=survivor.pk)
    other_id = other.pk
    other._history_user = actor
    other._change_reason = f"Merged into company #{survivor.pk}"
    other.delete()
    survivor._history_user = actor
    survivor._change_reason = f"Merged company #{other_id} ({other_snapshot['name']}) into this one"
    survivor.save()
    record = CompanyMerge.objects.create(
        survivor=survivor, survivor_id_at_merge=survivor.pk, other_id=other_id, merged_by=actor,
        field_choices=choices, other_snapshot=other_snapshot, merged_snapshot=_snapshot(survivor), moved=moved)
    message = company_group_message(survivor)
    message["traits"] = {**message["traits"], "mergedCrmCompanyId": other_id}
    outbox_record(object_type="company", object_id=survivor.pk, message=message)
    outbox_record(object_type="company", object_id=survivor.pk, message={
        "type": "track", "event": "CRM Companies Merged", **company_account_sender(survivor.pk),
        "properties": {"crmCompanyId": survivor.pk, "mergedCrmCompanyId": other_id,
                       "groupId": f"crm-company-{survivor.pk}", "fieldChoices": choices},
    })
    # The contacts' traits carry their company: the moved ones name the other company, and the survivor's own
    # may now show a merged name, domain or industry.
    contacts_outbox_refresh(contact_ids=survivor.contacts.values_list("pk", flat=True))
    return record
