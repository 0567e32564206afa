"""Company pages: list (search, filters, sorting, saved views, CSV export), detail with contacts, forms."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape

from crm.extensions import timeline_for
from crm.forms.companies import CompanyForm, CompanyListForm
from crm.forms.contacts import company_label, split_list
from crm.forms.custom_fields import custom_values_from
from crm.models import Company
from crm.selectors.companies import (
    CompanyListParams,
    companies_list,
    companies_search,
    companies_visible_to,
    company_contact_counts,
    company_contacts,
    company_deals,
    company_detail,
    company_is_editable_by,
)
from crm.services.companies import company_create, company_delete, company_update
from crm.views.list_support import (
    custom_filters_from,
)
from crm.views.records import (
    RecordKind,
    record_definitions,
    record_get,
    record_list_page,
)

SORT_COLUMNS = ["name", "domain", "industry", "size", "created", "updated"]
FORM_FIELDS = ["name", "domain", "industry", "size", "street", "city", "region", "postal_code", "country", "owner",
               "team"]


def _params(form: CompanyListForm, request) -> CompanyListParams:
    data = form.cleaned_data if form.is_valid() else {}
    return CompanyListParams(
        q=data.get("q") or "", owner=data.get("owner") or "", industry=data.get("industry") or "",
        size=data.get("size") or "", tag=(data.get("tag") or "").strip().lower(),
        custom=custom_filters_from(request.GET), sort=data.get("sort") or "name",
    )


def _inline_options(user, company: Company, field: str):
    if field == "size":
        return [("", "—"), *Company.Size.choices], company.size
    return None


def _service_kwargs(form: CompanyForm, definitions) -> dict:
    data = form.cleaned_data
    kwargs = {name: data[name] for name in FORM_FIELDS}
    kwargs["tags"] = split_list(data["tags"])
    kwargs["custom"] = custom_values_from(data, definitions)
    return kwargs


def _export_values(c: Company) -> list:
    return [c.name, c.domain, c.industry, c.size, c.street, c.city, c.region, c.postal_code, c.country,
            c.owner.get_username() if c.owner else "", c.team.name if c.team else "", ", ".join(c.tags)]


COMPANIES = RecordKind(
    noun="company", plural="companies", other_noun="contact", other_plural="contacts",
    detail=company_detail, is_editable_by=company_is_editable_by,
    update=lambda record, actor, changes: company_update(company=record, actor=actor, changes=changes),
    delete=lambda record, actor: company_delete(company=record, actor=actor),
    inline_fields={"domain": "Domain", "industry": "Industry", "size": "Size", "tags": "Tags"},
    search_placeholder="Name or domain", delete_confirm="Delete this company? Its contacts are kept.",
    inline_options=_inline_options,
    list_form=CompanyListForm, list_params=_params, list_query=companies_list,
    form=CompanyForm, service_kwargs=_service_kwargs, create=company_create,
    export_columns=("name", "domain", "industry", "size", "street", "city", "region", "postal_code", "country",
                    "owner", "team", "tags"),
    export_values=_export_values,
)


@login_required
def company_list(request):
    def extra(page) -> dict:
        counts = company_contact_counts(list(page.object_list))
        return {"rows": [(c, counts.get(c.pk, 0)) for c in page.object_list], "sizes": Company.Size.choices}

    return record_list_page(request, COMPANIES, sort_columns=SORT_COLUMNS, extra=extra)


@login_required
def company_show(request, pk: int):
    company = record_get(COMPANIES, request.user, pk)
    definitions = record_definitions(COMPANIES)
    return render(request, "crm/companies/detail.html", {
        "company": company, "record": company, "kind": COMPANIES,
        "can_edit": company_is_editable_by(request.user, company),
        "contacts": company_contacts(user=request.user, company=company),
        "custom_fields": [(d, company.custom.get(d.key)) for d in definitions],
        "timeline": timeline_for(company, user=request.user),
        "timeline_url": reverse("company-timeline", args=[company.pk]), "log_target": {"company": company.pk},
        "deals": company_deals(user=request.user, company=company), "deal_prefill": f"company={company.pk}",
    })


@login_required
def company_options(request):
    """<option>s for a company datalist: companies the user sees whose name or domain matches."""
    q = (request.GET.get("company") or request.GET.get("q") or "").strip()
    companies = companies_search(companies_visible_to(request.user), q).order_by("name")[:20] if q else []
    return HttpResponse("".join(f'<option value="{escape(company_label(c))}"></option>' for c in companies))
