"""Reads of contacts, scoped once by the visibility rules; pages, search, exports and the API use these."""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    DecimalField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce, Lower, StrIndex
from django.db.models.lookups import GreaterThan

from crm.extensions import contact_score_annotation
from crm.models import Company, Contact, ContactEmail, ContactPhone, CustomFieldDefinition, Deal
from crm.selectors.contact_matches import (
    ContactMatches,
    ContactsInOrder,
    Probe,
    contacts_probe,
    estimated_rows,
    is_any,
    sort_keys,
)
from crm.selectors.record_lists import owned_list_filter
from crm.selectors.sorting import page_sorts
from crm.selectors.visibility import owned_selectors

# The sortable fields (the API's ``ordering`` names) and what each sorts by: names case-insensitively, so that
# sorting by name walks the ``crm_contact_lname_cover`` index (``order_from_fields`` adds the final ``id``).
CONTACT_ORDERING_FIELDS: dict[str, tuple] = {
    "last_name": (Lower("last_name"), Lower("first_name")),
    "first_name": (Lower("first_name"), Lower("last_name")),
    "email": (F("email"),),
    "lifecycle_stage": (F("lifecycle_stage"),),
    "created_at": (F("created_at"),),
    "updated_at": (F("updated_at"),),
}
CONTACT_SORTS = page_sorts(CONTACT_ORDERING_FIELDS, {
    "name": "last_name", "email": "email", "lifecycle": "lifecycle_stage", "created": "created_at",
    "updated": "updated_at"})
DEFAULT_CONTACT_SORT = "name"


contacts_visible_to, contacts_editable_by, contact_is_editable_by = owned_selectors(Contact)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")


@dataclass(frozen=True)
class ContactSearchPlan:
    """How to find contacts for a query: conditions on the contact row, each index-backed on its own; a contact
    matches when any of them holds."""

    parts: tuple[Q, ...]

    @property
    def condition(self) -> Q:
        return reduce(operator.or_, self.parts)


SEARCH_MAX_COMPANIES = 20_000
SEARCH_MAX_LINKED_IDS = 5000


def _or_linked(own: Q, rows: QuerySet) -> Q:
    """``own`` or belonging to one of ``rows`` (emails or phones): one part of the plan, answered by one bitmap,
    as these are mostly the same people (the first phone is in ``search_text`` too).

    The ids of ``rows`` are fetched and handed over as one constant array: Postgres answers
    ``id = ANY(<constant>)`` from the primary key inside a bitmap scan, and as a filter it hashes the array. A
    subquery (a hashed subplan) rules out the bitmap scan, and ``ANY(ARRAY(<subquery>))`` is searched linearly
    for every row a filter sees. Past ``SEARCH_MAX_LINKED_IDS`` (a fragment of nearly every address) the
    subquery it is.
    """
    ids = list(rows.values_list("contact_id", flat=True).order_by()[: SEARCH_MAX_LINKED_IDS + 1])
    if not ids:
        return own
    if len(ids) > SEARCH_MAX_LINKED_IDS:
        return own | Q(pk__in=rows.values("contact_id"))
    return own | is_any("id", sorted(set(ids)))


def contact_search_plan(query: str) -> ContactSearchPlan | None:
    """Plan the search for ``query``; None for an empty query. Every part is index-backed:

    - a phone-like query (digits, spaces, ``+()-./``) matches the digits inside any phone number;
    - otherwise every word must occur in the contact's own text (name, primary email, first phone; one trigram
      GIN index on ``search_text``, words ANDed in one bitmap), or the whole phrase occurs in any of the
      contact's emails or in its company's name (their own trigram indexes);
    - words shorter than three letters cannot use a trigram index: they narrow the other words' matches, or,
      alone, match the start of the first or last name (``text_pattern_ops`` indexes).

    Companies, emails and phones are looked up first (one query each) and become conditions on the contact's
    ``company_id`` / ``id``, so that the whole search is one condition on the contact row.
    """
    query = " ".join(query.split())[:200]
    if not query:
        return None
    digits = _digits(query)
    if _PHONE_LIKE.match(query) and len(digits) >= 4:
        phones = ContactPhone.objects.filter(number__contains=digits)
        return ContactSearchPlan((_or_linked(Q(search_text__contains=digits), phones),))
    words = query.upper().split()[:6]
    if not any(len(w) >= 3 for w in words):
        return ContactSearchPlan((Q(search_text__startswith=words[0]) | Q(last_name__istartswith=words[0]),))
    own = Q()
    for word in words:
        if len(word) >= 3:
            own &= Q(search_text__contains=word)
        else:  # a plain position test, so the planner never tries a trigram scan for it
            own &= Q(GreaterThan(StrIndex("search_text", Value(word)), 0))
    phrase = query.lower()
    if " " not in phrase:
        # The primary email is in ``search_text`` (matched by ``own`` above): only the others are looked up, so
        # that a name fragment, which is in thousands of primary emails, does not become a huge id list.
        own = _or_linked(own, ContactEmail.objects.filter(email__contains=phrase, is_primary=False))
    # Company ids first, handed over as one array: with ``company_id IN (subquery)`` Postgres hashes the
    # companies and scans every contact instead of using the contacts' company index.
    # Past SEARCH_MAX_COMPANIES (a fragment of thousands of names) a subquery, so that none is left out.
    companies = Company.objects.filter(name__icontains=phrase)
    company_ids = list(companies.values_list("id", flat=True).order_by()[:SEARCH_MAX_COMPANIES + 1])
    if not company_ids:
        return ContactSearchPlan((own,))
    if len(company_ids) > SEARCH_MAX_COMPANIES:
        return ContactSearchPlan((own, Q(company_id__in=companies.values("id"))))
    return ContactSearchPlan((own, is_any("company_id", company_ids)))


def contacts_search_ids(query: str) -> QuerySet | None:
    """Ids of all contacts matching ``query`` (distinct: one condition on the contact row); None if it is empty."""
    plan = contact_search_plan(query)
    if plan is None:
        return None
    return Contact.objects.filter(plan.condition).values("id").order_by()


# A probe reads at most this many matches (with their sort keys): all of them for a narrow search or filter,
# which is then counted and sorted from what it read; more make it broad. A search's matches may cluster in
# sort order (a common surname: ~10,000 of a million, all at one letter), where walking the sort index reads
# everything before the cluster. A filter's matches spread evenly over it (tags, stages, owners have nothing to
# do with names): N of V visible contacts fill a page after a walk of about 50 * V / N rows, less than the probe
# would read past a few thousand matches.
SEARCH_SORT_IDS = 10_000
FILTER_SORT_IDS = 3_000
# Where the planner expects this many matches, the probe is skipped: it would read its limit only to report
# "broad" (a stage and tag of a fifth of the contacts, a company word in thousands of company names), or read
# thousands of rows that spread evenly over the sort order, where the sort index fills a page after a short walk.
# The contact's own text (trigram estimates run up to twice the matches: 'Garcia' 20,000 expected, 9,700 found)
# clusters in name order (a surname) and is skipped only well past the probe's limit; filters and a search's
# company part (btree and GIN statistics, close) spread like a filter and are skipped past a filter's probe.
SEARCH_SKIP_ROWS = 4 * SEARCH_SORT_IDS
FILTER_SKIP_ROWS = 3 * FILTER_SORT_IDS // 2


def _probe_is_pointless(probes: list[QuerySet], *, searching: bool) -> bool:
    """Whether the planner expects more matches than a probe of ``probes`` (a search's parts, or one filter)
    should read: part 0 of a search is the contact's own text, the others (a company part) spread like a filter."""
    for position, probe in reversed(list(enumerate(probes))):
        limit = SEARCH_SKIP_ROWS if searching and position == 0 else FILTER_SKIP_ROWS
        if estimated_rows(probe) > limit:
            return True
    return False


def contacts_search(qs: QuerySet[Contact], query: str, *, order: Sequence | None = None,
                    narrowed: bool = False) -> QuerySet[Contact] | ContactMatches | ContactsInOrder:
    """Narrow ``qs`` to contacts matching ``query`` (see ``contact_search_plan``) and, given ``order``, sort them.
    ``narrowed``: ``qs`` is filtered (a list's filters), so that even without a query it may hold few contacts.

    A probe reads the matching contacts within ``qs`` (a UNION ALL with one bitmap scan per part of the plan,
    streamed, so it stops early), up to ``SEARCH_SORT_IDS`` of them (``FILTER_SORT_IDS`` without a query):

    - a narrow search — the usual case — or filter is answered by the probe: it read every match with its sort
      keys, counted them and sorted the first pages (``ContactMatches``; a page is then fetched by primary key).
      A common surname ("Garcia": ~10,000 of a million) clusters in sort order (everyone named Schmidt sits at
      "S"), where walking the sort index could read most of it, and a filter's matches spread thin over it.
      Without ``order`` the ids go inline into ``qs`` as one array parameter;
    - a broad one becomes the plan's row condition and keeps ``order``, so that the sort index is walked and
      filtered: with this many matches a page fills after a short walk (even clustered, as with "sch", the
      walk stops at the cluster). The probe has shown that its count passes the lists' cap
      (``ContactsInOrder``: no count query; a page's ids first, then its rows).

    Filters without a query (``narrowed``) are probed the same way (one part: ``qs`` itself): a rep's
    "customers tagged vip" are a few thousand of a million, scattered over the name order, where the walk along
    the name index reads tens of thousands of rows for one page.
    """
    plan = contact_search_plan(query)
    if plan is None and not narrowed:
        return ContactsInOrder(qs.order_by(*order)) if order is not None else qs
    parts = plan.parts if plan is not None else (Q(),)
    keys = sort_keys(order) if order is not None else {}
    probes = [qs.filter(part).annotate(**keys).values_list("id", *keys).order_by().prefetch_related(None)
              for part in parts]
    probe = probes[0].union(*probes[1:], all=True).order_by() if len(probes) > 1 else probes[0]
    limit = (SEARCH_SORT_IDS if plan is not None else FILTER_SORT_IDS) + 1
    if _probe_is_pointless(probes, searching=plan is not None):
        found = Probe(complete=False, count=0)
    else:
        found = contacts_probe(probe, limit=limit, order=order, rows=qs.order_by())
    if found.complete:
        return found.matches if order is not None else qs.filter(is_any("id", found.ids))
    if plan is not None:
        qs = qs.filter(plan.condition)
    # Many matches (a company's contacts spread over the name order): walk the sort index.
    if order is None:
        return qs
    return ContactsInOrder(qs.order_by(*order), at_least=found.count)


@dataclass
class ContactListParams:
    q: str = ""
    owner: str = ""  # user id, "me" or "none"
    lifecycle: str = ""
    tag: str = ""
    company: int | None = None
    custom: dict[str, str] = field(default_factory=dict)
    sort: str = DEFAULT_CONTACT_SORT
    score_min: Decimal | None = None  # only contacts whose lead score is at least this


SCORE_SORTS = ("score", "-score")


def contacts_list(*, user: AbstractBaseUser, params: ContactListParams,
                  definitions: list[CustomFieldDefinition] | None = None) -> tuple[QuerySet[Contact], dict[str, str]]:
    """Visible contacts filtered and sorted by ``params``, with company and owner joined (constant queries).

    Returns (queryset, errors) where errors names filter values that could not be applied.
    """
    qs = contacts_visible_to(user).select_related("company", "owner", "team")
    errors: dict[str, str] = {}
    qs = owned_list_filter(qs, user=user, owner=params.owner, tag=params.tag, custom=params.custom,
                           object_type="contact", definitions=definitions, errors=errors)
    if params.lifecycle:
        if params.lifecycle in Contact.Lifecycle.values:
            qs = qs.filter(lifecycle_stage=params.lifecycle)
        else:
            errors["lifecycle"] = "Unknown lifecycle stage."
    if params.company:
        qs = qs.filter(company_id=params.company)
    order = CONTACT_SORTS.get(params.sort, CONTACT_SORTS[DEFAULT_CONTACT_SORT])
    if params.sort in SCORE_SORTS or params.score_min is not None:
        # The lead score comes from an extension (segments' default score model): a subquery per contact.
        score = contact_score_annotation()
        if score is None:
            errors["score_min" if params.score_min is not None else "sort"] = "There is no lead score yet."
        else:
            qs = qs.annotate(lead_score_value=Coalesce(score, Value(Decimal(0)), output_field=DecimalField()))
            if params.score_min is not None:
                qs = qs.filter(lead_score_value__gte=params.score_min)
            if params.sort in SCORE_SORTS:
                descending = params.sort == "-score"
                order = (OrderBy(F("lead_score_value"), descending=descending),
                         OrderBy(F("id"), descending=descending))
    # Index-backed filters that may leave few contacts (the score filter is a subquery per contact: not probed).
    narrowed = bool(params.owner or params.lifecycle or params.tag or params.company or params.custom)
    # Last, so that the search's probe counts only the matches the other filters keep.
    return contacts_search(qs, params.q, order=order, narrowed=narrowed), errors


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



@dataclass(frozen=True)
class ContactReach:
    """A contact as another app's demo or outreach sees it: how to reach them and whether a deal is open."""

    contact_id: int
    email: str
    first_name: str
    last_name: str
    company_domain: str
    owner_username: str
    open_deal: bool


def contacts_reachable(*, limit: int = 500) -> list[ContactReach]:
    """Contacts with a primary email (oldest first, at most ``limit``), with their owner and whether one of
    their deals is open. Unscoped: for system callers (demo seeding), never for a user's page."""
    open_deals = Deal.objects.filter(contacts=OuterRef("pk"), status=Deal.Status.OPEN)
    rows = (Contact.objects.exclude(email="")
            .annotate(open_deal=Exists(open_deals))
            .order_by("id")
            .values_list("pk", "email", "first_name", "last_name", "company__domain", "owner__username",
                         "open_deal")[:limit])
    return [ContactReach(pk, email, first or "", last or "", domain or "", owner or "", bool(is_open))
            for pk, email, first, last, domain, owner, is_open in rows]
