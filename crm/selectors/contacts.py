"""Reads of contacts, scoped once by the visibility rules; pages, search, exports and the API use these."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.fields import ArrayField
from django.db.models import BigIntegerField, BooleanField, F, Func, Prefetch, Q, QuerySet, Value
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce, Lower, StrIndex
from django.db.models.lookups import GreaterThan

from crm.models import Company, Contact, ContactEmail, ContactPhone, CustomFieldDefinition
from crm.selectors.custom_fields import custom_filter_q
from crm.selectors.visibility import editable_q, scope, visible_q

CONTACT_SORTS: dict[str, tuple] = {
    "name": (Lower("last_name"), Lower("first_name"), "id"),
    "-name": (Lower("last_name").desc(), Lower("first_name").desc(), "-id"),
    "email": ("email", "id"),
    "-email": ("-email", "-id"),
    "lifecycle": ("lifecycle_stage", "id"),
    "-lifecycle": ("-lifecycle_stage", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}
DEFAULT_CONTACT_SORT = "name"


def contacts_visible_to(user: AbstractBaseUser) -> QuerySet[Contact]:
    return scope(Contact.objects.all(), visible_q(user))


def contacts_editable_by(user: AbstractBaseUser) -> QuerySet[Contact]:
    return scope(Contact.objects.all(), editable_q(user))


def contact_is_editable_by(user: AbstractBaseUser, contact: Contact) -> bool:
    return contacts_editable_by(user).filter(pk=contact.pk).exists()


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")


@dataclass(frozen=True)
class ContactSearchPlan:
    """How to find contacts for a query: a condition on the contact row, plus contact ids found elsewhere."""

    own: Q
    others: tuple[QuerySet, ...] = ()


SEARCH_MAX_COMPANIES = 5000


def contact_search_plan(query: str) -> ContactSearchPlan | None:
    """Plan the search for ``query``; None for an empty query. Every part is index-backed:

    - a phone-like query (digits, spaces, ``+()-./``) matches the digits inside any phone number;
    - otherwise every word must occur in the contact's own text (name, primary email, first phone; one trigram
      GIN index on ``search_text``, words ANDed in one bitmap), or the whole phrase occurs in any of the
      contact's emails or in its company's name (their own trigram indexes);
    - words shorter than three letters cannot use a trigram index: they narrow the other words' matches, or,
      alone, match the start of the first or last name (``text_pattern_ops`` indexes).
    """
    query = " ".join(query.split())[:200]
    if not query:
        return None
    digits = _digits(query)
    if _PHONE_LIKE.match(query) and len(digits) >= 4:
        return ContactSearchPlan(Q(search_text__contains=digits),
                                 (ContactPhone.objects.filter(number__contains=digits).values("contact_id"),))
    words = query.upper().split()[:6]
    if not any(len(w) >= 3 for w in words):
        return ContactSearchPlan(Q(search_text__startswith=words[0]) | Q(last_name__istartswith=words[0]))
    own = Q()
    for word in words:
        if len(word) >= 3:
            own &= Q(search_text__contains=word)
        else:  # a plain position test, so the planner never tries a trigram scan for it
            own &= Q(GreaterThan(StrIndex("search_text", Value(word)), 0))
    phrase = query.lower()
    # Company ids first, handed over as one array: with ``company_id IN (subquery)`` Postgres hashes the
    # companies and scans every contact instead of using the contacts' company index.
    company_ids = list(Company.objects.filter(name__icontains=phrase).values_list("id", flat=True)
                       .order_by()[:SEARCH_MAX_COMPANIES])
    others = []
    if company_ids:
        # Same table, so a plain OR: Postgres combines the trigram and company indexes in one bitmap scan.
        own = own | Q(_IdIsAny(F("company_id"), Value(company_ids, output_field=ArrayField(BigIntegerField()))))
    if " " not in phrase:
        others.append(ContactEmail.objects.filter(email__contains=phrase).values("contact_id"))
    return ContactSearchPlan(own, tuple(others))


def contacts_search_ids(query: str) -> QuerySet | None:
    """Distinct ids of all contacts matching ``query`` (a UNION of the plan's parts); None for an empty query."""
    plan = contact_search_plan(query)
    if plan is None:
        return None
    own = Contact.objects.filter(plan.own).values("id").order_by()
    return own.union(*[other.order_by() for other in plan.others]).order_by() if plan.others else own


SEARCH_INLINE_IDS = 2000


class _IdIsAny(Func):
    """``<id> = ANY(<array>)``: one array parameter instead of an IN list of as many parameters."""

    arg_joiner = " = ANY("
    template = "%(expressions)s)"
    output_field = BooleanField()


def _id_in(ids: list[int]) -> _IdIsAny:
    return _IdIsAny(F("pk"), Value(ids, output_field=ArrayField(BigIntegerField())))


def contacts_search(qs: QuerySet[Contact], query: str) -> QuerySet[Contact]:
    """Narrow ``qs`` to contacts matching ``query`` (see ``contact_search_plan``).

    A probe collects up to ``SEARCH_INLINE_IDS`` + 1 matching ids (UNION ALL of index scans, streamed, so it
    stops early). A narrow search — the usual case — hands them to ``qs`` as one array parameter, so the page's
    count and rows do not search again. A broad one (more matches than that; huge arrays make planning slow)
    becomes a row condition ORed with the id sets found elsewhere, answered by one scan that the capped count
    can stop early.
    """
    plan = contact_search_plan(query)
    if plan is None:
        return qs
    probe = Contact.objects.filter(plan.own).values_list("id", flat=True).order_by()
    if plan.others:
        probe = probe.union(*[other.order_by() for other in plan.others], all=True)
    found = list(probe.order_by()[: SEARCH_INLINE_IDS + 1])
    if len(found) <= SEARCH_INLINE_IDS:
        return qs.filter(_id_in(sorted(set(found))))
    condition = plan.own
    for other in plan.others:
        condition |= Q(pk__in=other)
    return qs.filter(condition)


@dataclass
class ContactListParams:
    q: str = ""
    owner: str = ""  # user id, "me" or "none"
    lifecycle: str = ""
    tag: str = ""
    company: int | None = None
    custom: dict[str, str] = field(default_factory=dict)
    sort: str = DEFAULT_CONTACT_SORT


def contacts_list(*, user: AbstractBaseUser, params: ContactListParams,
                  definitions: list[CustomFieldDefinition] | None = None) -> tuple[QuerySet[Contact], dict[str, str]]:
    """Visible contacts filtered and sorted by ``params``, with company and owner joined (constant queries).

    Returns (queryset, errors) where errors names filter values that could not be applied.
    """
    qs = contacts_visible_to(user).select_related("company", "owner", "team")
    errors: dict[str, str] = {}
    qs = contacts_search(qs, params.q)
    if params.owner == "me":
        qs = qs.filter(owner=user)
    elif params.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif params.owner:
        if params.owner.isdigit():
            qs = qs.filter(owner_id=int(params.owner))
        else:
            errors["owner"] = "Unknown owner."
    if params.lifecycle:
        if params.lifecycle in Contact.Lifecycle.values:
            qs = qs.filter(lifecycle_stage=params.lifecycle)
        else:
            errors["lifecycle"] = "Unknown lifecycle stage."
    if params.tag:
        qs = qs.filter(tags__contains=[params.tag])
    if params.company:
        qs = qs.filter(company_id=params.company)
    if params.custom:
        if definitions is None:
            definitions = list(CustomFieldDefinition.objects.filter(object_type="contact"))
        q, custom_errors = custom_filter_q(definitions, params.custom)
        errors.update({f"cf_{k}": v for k, v in custom_errors.items()})
        qs = qs.filter(q)
    order = CONTACT_SORTS.get(params.sort, CONTACT_SORTS[DEFAULT_CONTACT_SORT])
    qs = qs.order_by(*(_sort_without_index(order) if params.q.strip() else order))
    return qs, errors


def _sort_without_index(order: tuple) -> list:
    """The same order, written so that no index matches it (``COALESCE(x, x)``).

    With a search, the matches are known ids; walking the sort index and filtering on them looks cheap to the
    planner but is not when the matches cluster in sort order (everyone named Schmidt sits at "S"). Fetching
    the matches by id and sorting them costs the same wherever they sit.
    """
    result = []
    for item in order:
        if isinstance(item, str):
            name = item.lstrip("-")
            expression = Coalesce(F(name), F(name))
            result.append(expression.desc() if item.startswith("-") else expression.asc())
        elif isinstance(item, OrderBy):
            result.append(OrderBy(Coalesce(item.expression, item.expression), descending=item.descending))
        else:
            result.append(Coalesce(item, item).asc())
    return result


def contact_detail(*, user: AbstractBaseUser, pk: int) -> Contact:
    """A visible contact with everything the detail page shows; raises Contact.DoesNotExist otherwise."""
    return (
        contacts_visible_to(user)
        .select_related("company", "owner", "team")
        .prefetch_related(
            Prefetch("emails", queryset=ContactEmail.objects.order_by("-is_primary", "id")),
            Prefetch("phones", queryset=ContactPhone.objects.order_by("id")),
        )
        .get(pk=pk)
    )

