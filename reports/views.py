"""Report pages and their CSV/Excel downloads: parse the filters, call the report, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from reports.catalog import REPORTS, Report
from reports.dashboards import dashboard_panels
from reports.exports import section_csv, sections_xlsx
from reports.filters import ReportFilterForm
from reports.models import DigestSubscription
from reports.presenters import present
from reports.services import digests

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
    """The dashboard of the user's roles: a few numbers, each linking to its full report."""
    reports = [r for r in REPORTS.values() if r.can_view(request.user)]
    return render(request, "reports/home.html", {
        "reports": reports, "panels": dashboard_panels(request.user),
        "subscribed": DigestSubscription.objects.filter(user=request.user).exists()})


@login_required
@require_POST
def digest_toggle(request):
    if request.POST.get("subscribe") == "1":
        digests.digest_subscribe(user=request.user)
        messages.success(request, "You will receive this dashboard by e-mail every Monday.")
    else:
        digests.digest_unsubscribe(user=request.user)
        messages.success(request, "You will no longer receive the weekly e-mail.")
    return redirect("reports:home")


@csrf_exempt  # the signed token is the credential; mail clients post one-click unsubscribes without a session
def digest_unsubscribe(request, token: str):
    user = digests.user_from_unsubscribe_token(token)
    if user is None:
        return render(request, "reports/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        digests.digest_unsubscribe(user=user)
        done = True
    return render(request, "reports/unsubscribe.html", {"done": done, "token": token})


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
