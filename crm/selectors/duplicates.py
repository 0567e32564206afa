"""Likely duplicate contacts as found by the last scan (``crm.services.duplicates``), scoped to the user.

Only pairs whose two contacts both exist and are visible to the user are listed; dismissed pairs are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from crm.models import Contact, ContactEmail, ContactPhone, DuplicateCandidate, DuplicateDismissal, DuplicateScan
from crm.selectors.contacts import contacts_editable_by, contacts_visible_to


@dataclass
class DuplicatePair:
    a_id: int
    b_id: int
    reasons: list[str]
    details: list[str]
    a: Contact | None = None
    b: Contact | None = None


def _candidates(user: AbstractBaseUser) -> QuerySet[DuplicateCandidate]:
    # Correlated EXISTS by primary key, not "IN (visible ids)": the pairs are few and the contacts many, so a
    # pk lookup per pair beats hashing every visible contact id.
    visible = contacts_visible_to(user)
    dismissed = DuplicateDismissal.objects.filter(contact_a_id=OuterRef("contact_a_id"),
                                                  contact_b_id=OuterRef("contact_b_id"))
    return (DuplicateCandidate.objects
            .filter(Exists(visible.filter(pk=OuterRef("contact_a_id"))),
                    Exists(visible.filter(pk=OuterRef("contact_b_id"))))
            .exclude(Exists(dismissed)))


def duplicate_pairs(*, user: AbstractBaseUser, limit: int = 50, offset: int = 0) -> tuple[list[DuplicatePair], int]:
    """One page of likely duplicate pairs visible to ``user`` (most reasons first) and their total number.

    Four queries: the count, the page of pairs, both contacts of every pair, their emails and phones (two).
    """
    qs = _candidates(user).order_by("-score", "contact_a_id", "contact_b_id")
    total = qs.count()
    rows = list(qs[offset:offset + limit]) if total else []
    pairs = [DuplicatePair(a_id=r.contact_a_id, b_id=r.contact_b_id, reasons=list(r.reasons),
                           details=[d for d in r.details if d]) for r in rows]
    contacts = _contacts({p.a_id for p in pairs} | {p.b_id for p in pairs})
    for pair in pairs:
        pair.a, pair.b = contacts.get(pair.a_id), contacts.get(pair.b_id)
    return pairs, total


def duplicates_of(*, user: AbstractBaseUser, contact: Contact) -> list[int]:
    """Ids of the likely duplicates of ``contact`` visible to ``user``."""
    rows = _candidates(user).filter(Q(contact_a_id=contact.pk) | Q(contact_b_id=contact.pk))
    return sorted(b if a == contact.pk else a for a, b in rows.values_list("contact_a_id", "contact_b_id"))


def last_scan() -> DuplicateScan | None:
    return DuplicateScan.objects.order_by("-started_at").first()


def _contacts(ids: set[int]) -> dict[int, Contact]:
    if not ids:
        return {}
    qs = (Contact.objects.filter(pk__in=ids).select_related("company", "owner", "team")
          .prefetch_related(Prefetch("emails", queryset=ContactEmail.objects.order_by("-is_primary", "id")),
                            Prefetch("phones", queryset=ContactPhone.objects.order_by("id"))))
    return {c.pk: c for c in qs}


def merge_candidates(*, user: AbstractBaseUser, a: int, b: int) -> tuple[Contact, Contact]:
    """Both contacts of a pair for the compare page, if ``user`` may see both (``Contact.DoesNotExist``
    otherwise), with emails, phones, company and owner loaded."""
    if a == b:
        raise Contact.DoesNotExist("A contact cannot be merged with itself.")
    visible = set(contacts_visible_to(user).filter(pk__in=[a, b]).values_list("id", flat=True))
    if visible != {a, b}:
        raise Contact.DoesNotExist("No such contacts.")
    contacts = _contacts({a, b})
    return contacts[a], contacts[b]


def contacts_mergeable_by(user: AbstractBaseUser, ids: list[int]) -> bool:
    """Whether ``user`` may edit every contact of ``ids`` (merging edits both)."""
    return contacts_editable_by(user).filter(pk__in=ids).count() == len(set(ids))
