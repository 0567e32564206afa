"""What every record list (contacts, companies) offers: owner, tag and custom field filters; saved views."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from crm.models import CustomFieldDefinition, SavedView
from crm.selectors.custom_fields import custom_filter_q


def owned_list_filter(qs: QuerySet, *, user: AbstractBaseUser, owner: str, tag: str, custom: dict[str, str],
                      object_type: str, definitions: list[CustomFieldDefinition] | None,
                      errors: dict[str, str]) -> QuerySet:
    """``qs`` filtered by owner (a user id, "me" or "none"), tag (already cleaned) and custom field values; a
    value that cannot be applied is named in ``errors`` (by filter name, ``cf_<key>`` for custom fields)."""
    if owner == "me":
        qs = qs.filter(owner=user)
    elif owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner:
        if owner.isdigit():
            qs = qs.filter(owner_id=int(owner))
        else:
            errors["owner"] = "Unknown owner."
    if tag:
        qs = qs.filter(tags__contains=[tag])
    if custom:
        if definitions is None:
            definitions = list(CustomFieldDefinition.objects.filter(object_type=object_type))
        q, custom_errors = custom_filter_q(definitions, custom)
        errors.update({f"cf_{k}": v for k, v in custom_errors.items()})
        qs = qs.filter(q)
    return qs


def saved_views_of(user: AbstractBaseUser, *, object_type: str) -> QuerySet[SavedView]:
    """The user's own saved views of one list."""
    return SavedView.objects.filter(user=user, object_type=object_type)
