"""Reads of companies, scoped once by the visibility rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, QuerySet
from django.db.models.functions import Lower

from crm.models import Company, Contact, CustomFieldDefinition
from crm.selectors.contacts import contacts_visible_to
from crm.selectors.deals import deals_visible_to
from crm.selectors.record_lists import owned_list_filter
from crm.selectors.sorting import page_sorts
from crm.selectors.visibility import owned_selectors

# The sortable fields (the API's ``ordering`` names) and what each sorts by: the name case-insensitively, so
# that sorting by name walks the name index (``order_from_fields`` adds the final ``id``).
COMPANY_ORDERING_FIELDS: dict[str, tuple] = {
    "name": (Lower("name"),),
    "domain": (F("domain"),),
    "industry": (F("industry"),),
    "size": (F("size"),),
    "created_at": (F("created_at"),),
    "updated_at": (F("updated_at"),),
}
COMPANY_SORTS = page_sorts(COMPANY_ORDERING_FIELDS, {
    "name": "name", "domain": "domain", "industry": "industry", "size": "size", "created": "created_at",
    "updated": "updated_at"})
DEFAULT_COMPANY_SORT = "name"


companies_visible_to, companies_editable_by, company_is_editable_by = owned_selectors(Company)


def companies_search(qs: QuerySet[Company], query: str) -> QuerySet[Company]:
    """Companies whose name or domain contains every word of ``query`` (trigram-indexed name)."""
    for word in query.split()[:5]:
        qs = qs.filter(pk__in=Company.objects.filter(name__icontains=word).values("id").union(
            Company.objects.filter(domain__contains=word.lower()).values("id")))
    return qs


@dataclass
class CompanyListParams:
    q: str = ""
    owner: str = ""
    industry: str = ""
    size: str = ""
    tag: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    sort: str = DEFAULT_COMPANY_SORT


def companies_list(*, user: AbstractBaseUser, params: CompanyListParams,
                   definitions: list[CustomFieldDefinition] | None = None) -> tuple[QuerySet[Company], dict[str, str]]:
    """Visible companies filtered and sorted, with owner joined; returns (queryset, filter errors)."""
    qs = companies_visible_to(user).select_related("owner", "team")
    errors: dict[str, str] = {}
    qs = companies_search(qs, params.q)
    qs = owned_list_filter(qs, user=user, owner=params.owner, tag=params.tag, custom=params.custom,
                           object_type="company", definitions=definitions, errors=errors)
    if params.industry:
        qs = qs.filter(industry__iexact=params.industry)
    if params.size:
        if params.size in Company.Size.values:
            qs = qs.filter(size=params.size)
        else:
            errors["size"] = "Unknown size."
    qs = qs.order_by(*COMPANY_SORTS.get(params.sort, COMPANY_SORTS[DEFAULT_COMPANY_SORT]))
    return qs, errors


def company_detail(*, user: AbstractBaseUser, pk: int) -> Company:
    """A visible company with its visible-contact count; raises Company.DoesNotExist otherwise."""
    return companies_visible_to(user).select_related("owner", "team").get(pk=pk)


def company_contacts(*, user: AbstractBaseUser, company: Company, limit: int = 100):
    """Contacts of ``company`` the user may see, by name."""
    return (contacts_visible_to(user).filter(company=company).select_related("owner")
            .order_by(Lower("last_name"), Lower("first_name"), "id")[:limit])


def company_contact_counts(companies: list[Company]) -> dict[int, int]:
    """Number of contacts per company id for a page of companies (one query)."""
    rows = (Contact.objects.filter(company__in=[c.pk for c in companies]).values("company")
            .annotate(n=Count("id")).values_list("company", "n"))
    return dict(rows)


def industries_in_use(user: AbstractBaseUser) -> list[str]:
    return list(companies_visible_to(user).exclude(industry="").values_list("industry", flat=True)
                .distinct().order_by("industry")[:100])


def company_deals(*, user: AbstractBaseUser, company: Company, limit: int = 20):
    """Deals of ``company`` the user may see, newest first (for the company page)."""
    return deals_visible_to(user).filter(company=company).select_related("stage").order_by("-created_at")[:limit]
