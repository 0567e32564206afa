"""Link a ticket's requester by email: the contact who has that email, else a new contact (created by the system,
so that support agents and inbound mail may create requesters without the rights to create CRM records)."""

from __future__ import annotations

from email.utils import parseaddr

from crm.models import Contact, ContactEmail
from crm.services.contacts import contact_create


def contact_find_by_email(email: str) -> Contact | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    row = ContactEmail.objects.filter(email=email).select_related("contact").order_by("-is_primary", "id").first()
    return row.contact if row else None


def contact_for_email(*, email: str, name: str = "", actor=None) -> Contact:
    """The contact with ``email`` (any of their addresses), else a new lead with that email and ``name``.

    ``actor`` is recorded nowhere: the contact is created by the system. ValidationError for a bad address."""
    _display, address = parseaddr(email or "")
    contact = contact_find_by_email(address)
    if contact is not None:
        return contact
    first, _sep, last = (name or "").strip().partition(" ")
    return contact_create(actor=None, first_name=first[:100], last_name=last[:100], emails=[address],
                          lead_source="Support")
