"""Reads of contacts for the apps downstream of crm (cdp links profiles to contacts): the only way they reach
contact rows, so they never import crm models."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from crm.models import Contact


def is_contact(obj: Any) -> bool:
    """Whether ``obj`` is a CRM contact (extension points receive contacts, companies and deals)."""
    return isinstance(obj, Contact)


def contact_ids_by_email(*, emails: set[str]) -> dict[str, int]:
    """CRM contact id per (lower-cased) email, from the contacts' primary and other emails; the lowest id wins."""
    if not emails:
        return {}
    found: dict[str, int] = {}
    rows = Contact.objects.filter(Q(email__in=emails) | Q(emails__email__in=emails)).values_list(
        "pk", "email", "emails__email").order_by("pk")
    for pk, primary, other in rows:
        for email in (primary, other):
            if email in emails:
                found.setdefault(email, pk)
    return found


def contacts_db_table() -> str:
    """The contacts table's name, for set-based SQL that joins contacts (an existence check in one statement)."""
    return Contact._meta.db_table
