"""Report pages and their CSV/Excel downloads: parse the filters, call the report, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.http import urlencode

from reports.catalog import REPORTS, Report
from reports.exports import section_csv, sections_xlsx
from reports.filters import ReportFilterForm
from reports.presenters import present

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report(user, slug: str) -> Report:
    report = REPORTS.get(slug)
    if report is None:
        raise Http404("No such report.")
    if not report.can_view(user):
        raise PermissionDenied("This report is not part of your role.")
    return report


@login_required
def reports_home(request):
    reports = [r for r in REPORTS.values() if r.can_view(request.user)]
    return render(request, "reports/home.html", {"reports": reports})


@login_required
def report_page(request, slug: str):
    report = _report(request.user, slug)
    # A report with required inputs (the funnel's steps) opens on an empty form, not on errors.
    form = report.form(request.GET if (request.GET or report.form is ReportFilterForm) else None)
    context = {"report": report, "form": form, "sections": [], "query": ""}
    if form.is_bound and form.is_valid():
        context["sections"] = present(report.build(request.user, form))
        context["query"] = urlencode(report.query(form))
        context["filters"] = form.filters()
    return render(request, "reports/report.html", context)


def _download(content, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def report_export(request, slug: str, fmt: str):
    report = _report(request.user, slug)
    form = report.form(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid filters: " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in form.errors.items()), content_type="text/plain")
    filters = form.filters()
    sections = report.build(request.user, form)
    stem = f"{report.slug}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}"
    if fmt == "xlsx":
        return _download(sections_xlsx(sections), content_type=XLSX, filename=f"{stem}.xlsx")
    wanted = request.GET.get("section") or sections[0].key
    section = next((s for s in sections if s.key == wanted), None)
    if section is None:
        return HttpResponseBadRequest("Unknown section.", content_type="text/plain")
    return _download(section_csv(section), content_type="text/csv; charset=utf-8",
                     filename=f"{stem}-{section.key}.csv")
