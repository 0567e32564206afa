"""Reading lead scores: a contact's or profile's scores with their "why", the default model's score as an
expression for CRM lists, score models for the pages and API."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery

from segments.models import ProfileScore, ScoreModel


def score_models() -> QuerySet[ScoreModel]:
    return ScoreModel.objects.order_by("-is_default", "name")


def default_score_model() -> ScoreModel | None:
    return ScoreModel.objects.filter(is_default=True).first()


def why(model: ScoreModel, points: list) -> list[tuple[str, Decimal]]:
    """(label, points) of the conditions that gave points, in the model's order."""
    out = []
    for i, value in enumerate(points):
        value = Decimal(str(value))
        if value:
            items = model.conditions if isinstance(model.conditions, list) else []
            label = (items[i].get("label") if i < len(items) and isinstance(items[i], dict) else "") or \
                f"Condition {i + 1}"
            out.append((label, value.quantize(Decimal(1)) if value == value.to_integral() else value))
    return out


def default_score_subquery():
    """The score under the default model of the contact whose ``pk`` is the outer row (no row: NULL)."""
    return Subquery(ProfileScore.objects.filter(model__is_default=True, contact_id=OuterRef("pk"))
                    .order_by("-score").values("score")[:1])


def contact_default_scores(contact_ids: list[int]) -> list[ProfileScore]:
    """The default model's score rows of these contacts (one query, with the model)."""
    return list(ProfileScore.objects.filter(model__is_default=True, contact_id__in=contact_ids)
                .select_related("model").order_by("contact_id", "-score"))


def profile_scores(profile_id: int) -> list[ProfileScore]:
    """Every model's score row of a profile, default model first (one query)."""
    return list(ProfileScore.objects.filter(profile_id=profile_id).select_related("model")
                .order_by("-model__is_default", "model__name"))


def contact_all_scores(contact_id: int) -> list[dict]:
    """Each score model with this contact's score and its why (zero when it has no row), default first."""
    rows = {r.model_id: r for r in ProfileScore.objects.filter(contact_id=contact_id)}
    out = []
    for model in score_models():
        row = rows.get(model.pk)
        out.append({"model": model, "score": row.score if row else Decimal(0),
                    "why": why(model, row.points) if row else [], "scored_at": row.scored_at if row else None})
    return out
