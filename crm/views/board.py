"""The deal board: a kanban per pipeline; cards are moved with a POST to ``board_move``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from crm.extensions import attach_deal_scores
from crm.selectors.deals import (
    DealFilters,
    board_columns,
    board_totals,
    deal_owners,
    deals_visible_to,
    pipeline_stage,
    pipeline_stages,
    pipelines_list,
    user_can_write_deals,
)
from crm.services.deals import deal_move_to_stage
from crm.views.sales_common import error_text, parse_date, parse_int


def _board_filters(params) -> DealFilters:
    return DealFilters(owner_id=parse_int(params.get("owner")), close_from=parse_date(params.get("close_from")),
                       close_to=parse_date(params.get("close_to")), status=None)


@login_required
def board_view(request):
    pipelines = list(pipelines_list())
    pipeline_id = parse_int(request.GET.get("pipeline"))
    pipeline = next((p for p in pipelines if p.pk == pipeline_id), pipelines[0] if pipelines else None)
    filters = _board_filters(request.GET)
    columns = board_columns(user=request.user, pipeline=pipeline, filters=filters) if pipeline else []
    attach_deal_scores(card for column in columns for card in column.cards)  # lead scores: two queries
    owners = deal_owners()
    return render(request, "crm/board/board.html", {
        "pipelines": pipelines, "pipeline": pipeline, "columns": columns, "owners": owners, "filters": filters,
        "can_write": user_can_write_deals(request.user),
    })


def _json_error(status: int, error: str, detail) -> JsonResponse:
    return JsonResponse({"error": error, "detail": detail}, status=status)


@login_required
@require_POST
def board_move_view(request):
    """Move a deal to a stage. JSON in and out: {deal, stage, lost_reason?} plus the board's filters.

    Answers the new totals of every column as HTML snippets, 403 when the user may not edit the deal, 404 when
    they cannot see it, 400 for a bad stage or a lost stage without a reason.
    """
    deal_id, stage_id = parse_int(request.POST.get("deal")), parse_int(request.POST.get("stage"))
    if not deal_id or not stage_id:
        return _json_error(400, "invalid", "Give a deal and a stage.")
    try:
        deal = get_object_or_404(deals_visible_to(request.user).select_related("pipeline"), pk=deal_id)
    except Http404:
        return _json_error(404, "not_found", "No such deal.")
    stage = pipeline_stage(pipeline_id=deal.pipeline_id, stage_id=stage_id)
    if stage is None:
        return _json_error(400, "invalid", "That stage is not in this deal's pipeline.")
    try:
        deal = deal_move_to_stage(user=request.user, deal=deal, stage=stage,
                                  lost_reason=request.POST.get("lost_reason", ""))
    except PermissionDenied as exc:
        return _json_error(403, "permission_denied", str(exc) or "You may not move this deal.")
    except ValidationError as exc:
        return _json_error(400, "invalid", error_text(exc))
    totals = board_totals(user=request.user, pipeline=deal.pipeline, filters=_board_filters(request.POST))
    columns = {}
    for column_stage in pipeline_stages(deal.pipeline):
        count, money = totals.get(column_stage.pk, (0, []))
        columns[column_stage.pk] = render_to_string("crm/board/_totals.html", {"count": count, "totals": money})
    return JsonResponse({"ok": True, "deal": deal.pk, "stage": stage.pk, "status": deal.status,
                         "probability": deal.probability, "columns": columns})
