"""Company pages: list (search, filters, sorting, saved views, CSV export), detail with contacts, forms."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_http_methods, require_POST

from config.csv_export import csv_stream_response
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
from crm.selectors.custom_fields import custom_field_definitions_for
from crm.services.companies import company_create, company_delete, company_update
from crm.views.list_support import (
    custom_filters_from,
    page_of,
)
from crm.views.records import (
    RecordKind,
    record_edit,
    record_get,
    record_inline,
    record_list_page,
    record_new,
    record_remove,
    record_require_create,
    record_timeline,
)

SORT_COLUMNS = ["name", "domain", "industry", "size", "created", "updated"]
FORM_FIELDS = ["name", "domain", "industry", "size", "street", "city", "region", "postal_code", "country", "owner",
               "team"]


def _definitions():
    return list(custom_field_definitions_for("company"))


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


COMPANIES = RecordKind(
    noun="company", plural="companies", other_noun="contact", other_plural="contacts",
    detail=company_detail, is_editable_by=company_is_editable_by,
    update=lambda record, actor, changes: company_update(company=record, actor=actor, changes=changes),
    delete=lambda record, actor: company_delete(company=record, actor=actor),
    inline_fields={"domain": "Domain", "industry": "Industry", "size": "Size", "tags": "Tags"},
    search_placeholder="Name or domain", delete_confirm="Delete this company? Its contacts are kept.",
    inline_options=_inline_options,
)


def _get_company(user, pk: int) -> Company:
    return record_get(COMPANIES, user, pk)


@login_required
def company_list(request):
    definitions = _definitions()
    form = CompanyListForm(request.GET, definitions=definitions)
    params = _params(form, request)
    qs, filter_errors = companies_list(user=request.user, params=params, definitions=definitions)
    page = page_of(qs, request)
    counts = company_contact_counts(list(page.object_list))
    return record_list_page(request, COMPANIES, form=form, params=params, page=page, filter_errors=filter_errors,
                            definitions=definitions, sort_columns=SORT_COLUMNS,
                            rows=[(c, counts.get(c.pk, 0)) for c in page.object_list], sizes=Company.Size.choices)


@login_required
def company_export(request):
    definitions = _definitions()
    form = CompanyListForm(request.GET, definitions=definitions)
    qs, _errors = companies_list(user=request.user, params=_params(form, request), definitions=definitions)
    header = ["id", "name", "domain", "industry", "size", "street", "city", "region", "postal_code", "country",
              "owner", "team", "tags", *[f"custom.{d.key}" for d in definitions], "created_at", "updated_at"]

    def rows():
        for c in qs.iterator(chunk_size=2000):
            yield [c.pk, c.name, c.domain, c.industry, c.size, c.street, c.city, c.region, c.postal_code, c.country,
                   c.owner.get_username() if c.owner else "", c.team.name if c.team else "", ", ".join(c.tags),
                   *[c.custom.get(d.key, "") for d in definitions], c.created_at.isoformat(),
                   c.updated_at.isoformat()]

    return csv_stream_response("companies.csv", header, rows())


def _service_kwargs(form: CompanyForm, definitions) -> dict:
    data = form.cleaned_data
    kwargs = {name: data[name] for name in FORM_FIELDS}
    kwargs["tags"] = split_list(data["tags"])
    kwargs["custom"] = custom_values_from(data, definitions)
    return kwargs


@login_required
@require_http_methods(["GET", "POST"])
def company_new(request):
    record_require_create(request, COMPANIES)
    definitions = _definitions()
    initial = {"owner": request.user.pk} if request.method == "GET" else {}
    form = CompanyForm(request.POST or None, user=request.user, definitions=definitions, initial=initial)
    return record_new(request, COMPANIES, form=form,
                      create=lambda form: company_create(actor=request.user, **_service_kwargs(form, definitions)))


@login_required
@require_http_methods(["GET", "POST"])
def company_edit(request, pk: int):
    definitions = _definitions()
    return record_edit(
        request, COMPANIES, pk, changes_from=lambda form: _service_kwargs(form, definitions),
        form_for=lambda data, record: CompanyForm(data, user=request.user, definitions=definitions, company=record))


@login_required
def company_show(request, pk: int):
    company = _get_company(request.user, pk)
    definitions = _definitions()
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
@require_http_methods(["GET", "POST"])
def company_inline(request, pk: int, field: str):
    return record_inline(request, COMPANIES, pk, field)


@login_required
def company_timeline(request, pk: int):
    return record_timeline(request, COMPANIES, pk)


@login_required
@require_POST
def company_remove(request, pk: int):
    return record_remove(request, COMPANIES, pk)


@login_required
def company_options(request):
    """<option>s for a company datalist: companies the user sees whose name or domain matches."""
    q = (request.GET.get("company") or request.GET.get("q") or "").strip()
    companies = companies_search(companies_visible_to(request.user), q).order_by("name")[:20] if q else []
    return HttpResponse("".join(f'<option value="{escape(company_label(c))}"></option>' for c in companies))
