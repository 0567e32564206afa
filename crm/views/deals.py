"""Deal pages: list (filters, sort, pagination, CSV), create, detail with inline edit, stage, won/lost."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from config.csv_export import csv_stream_response
from crm.extensions import timeline_for
from crm.selectors.deals import (
    DealFilters,
    deal_is_editable,
    deal_links_visible,
    deal_list,
    deals_visible_to,
    pipeline_default,
    user_can_write_deals,
)
from crm.services.deals import deal_create, deal_mark_lost, deal_mark_won, deal_move_to_stage, deal_update
from crm.views.deal_forms import ActivityForm, DealFilterForm, DealForm, LostForm, StageChangeForm, deal_initial
from crm.views.sales_common import error_text, errors_to_form

PAGE_SIZE = 50
SORT_COLUMNS = [("name", "Deal"), ("stage", "Stage"), ("amount", "Amount"), ("probability", "Prob."),
                ("close", "Close date"), ("owner", "Owner"), ("created", "Created")]


def _filters(form: DealFilterForm) -> DealFilters:
    data = form.cleaned_data if form.is_valid() else {}
    return DealFilters(
        pipeline_id=getattr(data.get("pipeline"), "pk", None), owner_id=getattr(data.get("owner"), "pk", None),
        stage_id=getattr(data.get("stage"), "pk", None),
        status=data.get("status") or None, close_from=data.get("close_from"), close_to=data.get("close_to"),
        q=(data.get("q") or "").strip(),
    )


@login_required
def deal_list_view(request):
    form = DealFilterForm(request.GET or None)
    sort = request.GET.get("sort", "-created")
    deals = deal_list(user=request.user, filters=_filters(form), sort=sort)
    page = Paginator(deals, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("sort", None)
    return render(request, "crm/deals/list.html", {
        "form": form, "page": page, "sort": sort, "columns": SORT_COLUMNS, "query": query.urlencode(),
        "export_query": request.GET.urlencode(), "can_create": user_can_write_deals(request.user),
    })


@login_required
def deal_export_view(request):
    """The list with its filters and sort as CSV, streamed."""
    form = DealFilterForm(request.GET or None)
    deals = deal_list(user=request.user, filters=_filters(form), sort=request.GET.get("sort", "-created"))
    header = ["id", "name", "pipeline", "stage", "status", "amount", "currency", "probability",
              "expected_close_date", "owner", "company", "lost_reason", "created_at"]

    def rows():
        for deal in deals.iterator(chunk_size=2000):
            yield [
                deal.pk, deal.name, deal.pipeline.name, deal.stage.name, deal.status, deal.amount, deal.currency,
                deal.probability, deal.expected_close_date, deal.owner.username if deal.owner else "",
                deal.company.name if deal.company else "", deal.lost_reason, deal.created_at.isoformat(),
            ]

    return csv_stream_response("deals.csv", header, rows())


@login_required
def deal_create_view(request):
    if not user_can_write_deals(request.user):
        return HttpResponseForbidden("Your role may not create deals.")
    default_pipeline = pipeline_default()
    initial = {"owner": request.user.pk, "currency": "EUR", "pipeline": default_pipeline and default_pipeline.pk}
    for name in ("pipeline", "company"):
        if request.GET.get(name, "").isdigit():
            initial[name] = int(request.GET[name])
    if request.GET.get("contact", "").isdigit():
        initial["contacts"] = [int(request.GET["contact"])]
    form = DealForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal = deal_create(
                user=request.user, name=data["name"], pipeline=data["pipeline"], stage=data["stage"],
                amount=data["amount"], currency=data["currency"], probability=data["probability"],
                expected_close_date=data["expected_close_date"], owner=data["owner"] or request.user,
                team=data["team"], company=data["company"], contacts=data["contacts"],
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Deal “{deal.name}” created.")
            return redirect("deal-detail", pk=deal.pk)
    return render(request, "crm/deals/form.html", {"form": form})


def _detail_context(request, deal, **extra):
    return {
        "deal": deal, "can_edit": deal_is_editable(request.user, deal),
        **deal_links_visible(request.user, deal),
        "stage_form": StageChangeForm(deal=deal, initial={"stage": deal.stage_id}),
        "stages": list(deal.pipeline.stages.order_by("order")), "lost_form": LostForm(),
        **extra,
    }


@login_required
def deal_detail_view(request, pk: int):
    deal = get_object_or_404(deals_visible_to(request.user).select_related("pipeline", "stage", "owner", "team",
                                                                            "company", "created_by"), pk=pk)
    ctx = _detail_context(request, deal)
    ctx["timeline"] = timeline_for(deal, user=request.user, limit=100)
    ctx["activity_form"] = ActivityForm(initial={"deal": deal.pk}, user=request.user)
    ctx["log_target"] = {"deal": deal.pk}
    return render(request, "crm/deals/detail.html", ctx)


@login_required
def deal_edit_view(request, pk: int):
    """Inline edit: with htmx the fields box swaps into a form and back; without, a plain page."""
    deal = get_object_or_404(deals_visible_to(request.user).select_related("pipeline", "stage", "owner", "company"),
                             pk=pk)
    if not deal_is_editable(request.user, deal):
        raise PermissionDenied("You may not change this deal.")
    form = DealForm(request.POST or None, user=request.user, deal=deal, initial=deal_initial(deal))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changes = {name: data[name] for name in ("name", "pipeline", "amount", "currency", "probability",
                                                 "expected_close_date", "team", "company", "contacts")}
        changes["owner"] = data["owner"] or deal.owner
        # Contacts the user cannot see are not in the form; keep their links rather than drop them silently.
        changes["contacts"] = [*data["contacts"], *deal.contacts.exclude(pk__in=form.fields["contacts"].queryset)]
        if data["company"] is None and deal.company_id and not form.fields["company"].queryset.filter(
                pk=deal.company_id).exists():
            changes["company"] = deal.company
        if data["stage"] is not None:
            changes["stage"] = data["stage"]
        try:
            deal = deal_update(user=request.user, deal=deal, changes=changes)
        except ValidationError as exc:
            errors_to_form(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            if request.htmx:
                deal = deals_visible_to(request.user).select_related("pipeline", "stage", "owner", "team",
                                                                      "company").get(pk=deal.pk)
                return render(request, "crm/deals/_fields.html", {"deal": deal, "can_edit": True,
                                                                   **deal_links_visible(request.user, deal)})
            messages.success(request, "Deal saved.")
            return redirect("deal-detail", pk=deal.pk)
    template = "crm/deals/_edit_form.html" if request.htmx else "crm/deals/form.html"
    return render(request, template, {"form": form, "deal": deal})


@login_required
def deal_fields_view(request, pk: int):
    deal = get_object_or_404(deals_visible_to(request.user).select_related("pipeline", "stage", "owner", "team",
                                                                            "company"), pk=pk)
    return render(request, "crm/deals/_fields.html", {"deal": deal, "can_edit": deal_is_editable(request.user, deal),
                                                       **deal_links_visible(request.user, deal)})


def _closing_action(request, pk: int, action) -> object:
    deal = get_object_or_404(deals_visible_to(request.user).select_related("pipeline", "stage"), pk=pk)
    try:
        action(deal)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("deal-detail", pk=deal.pk) if not request.htmx else HttpResponseForbidden(str(exc))
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    return redirect("deal-detail", pk=deal.pk)


@login_required
@require_POST
def deal_stage_view(request, pk: int):
    def move(deal):
        form = StageChangeForm(request.POST, deal=deal)
        if not form.is_valid():
            raise ValidationError({"stage": "Choose a stage of this deal's pipeline."})
        deal_move_to_stage(user=request.user, deal=deal, stage=form.cleaned_data["stage"],
                           lost_reason=form.cleaned_data["lost_reason"])
        messages.success(request, f"Moved to {form.cleaned_data['stage'].name}.")
    return _closing_action(request, pk, move)


@login_required
@require_POST
def deal_won_view(request, pk: int):
    def won(deal):
        deal_mark_won(user=request.user, deal=deal)
        messages.success(request, "Deal won. Well done!")
    return _closing_action(request, pk, won)


@login_required
@require_POST
def deal_lost_view(request, pk: int):
    def lost(deal):
        deal_mark_lost(user=request.user, deal=deal, reason=request.POST.get("lost_reason", ""))
        messages.success(request, "Deal marked lost.")
    return _closing_action(request, pk, lost)
