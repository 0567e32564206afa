"""Lead scoring pages for marketers and admins: the score models (default first) and the editor that creates or
changes one: rows of (label, points, condition), each condition edited with the segment rule builder
(static/js/score-editor.js keeps the ``conditions`` field, JSON of the rows, in step; it is also editable as
JSON under "Advanced"), checked with errors named per row."""

from __future__ import annotations

import json
import re

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from segments.models import ScoreModel
from segments.rules.validation import RuleError
from segments.scoring_api import ENGAGEMENT_EXAMPLE
from segments.selectors.scoring import score_models
from segments.selectors.suggestions import builder_catalog
from segments.services.scoring import (
    score_model_create,
    score_model_rescore_request,
    score_model_update,
)
from segments.views import builder_required


@builder_required
def scoring_index(request):
    return render(request, "segments/scoring/index.html", {"models": score_models()})


def _values(request) -> tuple[dict, list[dict]]:
    post = request.POST
    values = {"name": post.get("name", "").strip(), "description": post.get("description", ""),
              "half_life_days": post.get("half_life_days", "").strip() or None,
              "cap": post.get("cap", "").strip() or None, "is_default": post.get("is_default") == "on",
              "conditions_text": post.get("conditions", "")}
    errors = []
    try:
        values["conditions"] = json.loads(values["conditions_text"] or "[]")
    except json.JSONDecodeError as exc:
        errors.append({"path": "conditions", "message": f"Not valid JSON: {exc.msg} (line {exc.lineno})."})
    if not values["name"]:
        errors.append({"path": "name", "message": "Give the model a name."})
    return values, errors


def _form(request, model: ScoreModel | None):
    errors: list[dict] = []
    if request.method == "POST":
        values, errors = _values(request)
        if not errors:
            try:
                if model is None:
                    if ScoreModel.objects.filter(name=values["name"]).exists():
                        raise RuleError([{"path": "name", "message": "A score model with this name exists."}])
                    model = score_model_create(user=request.user, **{k: values[k] for k in (
                        "name", "description", "half_life_days", "cap", "is_default", "conditions")})
                else:
                    model = score_model_update(model=model, changes={k: values[k] for k in (
                        "name", "description", "half_life_days", "cap", "is_default", "conditions")})
                messages.success(request, f"Saved “{model.name}”; scores are being recomputed.")
                return redirect("segments:scoring")
            except RuleError as exc:
                errors = exc.errors
    else:
        values = {"name": model.name if model else "", "description": model.description if model else "",
                  "half_life_days": model.half_life_days if model else None, "cap": model.cap if model else None,
                  "is_default": model.is_default if model else False,
                  "conditions": model.conditions if model else ENGAGEMENT_EXAMPLE["conditions"]}
        values["conditions_text"] = json.dumps(values["conditions"], indent=2)
    conditions = values.get("conditions", [])
    invalid_json = request.method == "POST" and "conditions" not in values
    return render(request, "segments/scoring/form.html", {
        "model": model, "values": values, "errors": [{**e, "where": _where(e["path"])} for e in errors],
        "invalid_json": invalid_json,
        "editor_config": {"conditions": conditions if isinstance(conditions, list) else [], "errors": errors,
                          "catalog": builder_catalog(), "suggest_url": reverse("segments:suggest"),
                          "invalid_json": invalid_json},
    }, status=400 if errors else 200)


def _where(path: str) -> str:
    """An error's place in words: ``conditions[2].condition.where[0].op`` → "Condition 3, where[0].op"."""
    match = re.match(r"conditions\[(\d+)\]\.?(.*)", path or "")
    if not match:
        return {"": "Model", "conditions": "Conditions", "half_life_days": "Half-life", "cap": "Cap",
                "name": "Name", "is_default": "Default"}.get(path or "", path)
    rest = match.group(2).removeprefix("condition").lstrip(".")
    return f"Condition {int(match.group(1)) + 1}" + (f", {rest}" if rest else "")


@builder_required
def scoring_create(request):
    return _form(request, None)


@builder_required
def scoring_edit(request, pk: int):
    return _form(request, get_object_or_404(ScoreModel, pk=pk))


@builder_required
@require_POST
def scoring_rescore(request, pk: int):
    model = get_object_or_404(ScoreModel, pk=pk)
    score_model_rescore_request(model=model)
    messages.success(request, f"Rescoring “{model.name}”.")
    return redirect("segments:scoring")
