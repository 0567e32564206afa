"""API (DRF) of lead scoring: score models (create/update with per-item rule errors, delete, full rescoring)
and a profile's scores. Marketing and admins manage models; reps read scores through the CRM contact API."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from segments.api import CanBuildSegments, _rule_error
from segments.models import ProfileScore, ScoreModel
from segments.rules.validation import RuleError
from segments.selectors.scoring import score_models, why
from segments.services.scoring import (
    score_model_create,
    score_model_delete,
    score_model_rescore_request,
    score_model_update,
)

ENGAGEMENT_EXAMPLE = {
    "name": "Engagement", "is_default": True, "half_life_days": 14, "cap": 100,
    "conditions": [
        {"label": "Viewed pricing", "points": 10, "condition": {
            "type": "event", "event_type": "page", "where": [{"property": "path", "op": "starts_with",
                                                              "value": "/pricing"}],
            "count": {"op": "at_least", "value": 1}, "window": {"kind": "last_days", "days": 90}}},
        {"label": "Requested a demo", "points": 30, "condition": {"type": "event", "event": "Demo Requested"}},
        {"label": "Open deal", "points": 20, "condition": {"type": "deal", "has": True, "where": [
            {"field": "status", "op": "equals", "value": "open"}]}},
        {"label": "Churned", "points": -50, "condition": {"type": "contact", "field": "lifecycle_stage",
                                                          "op": "equals", "value": "churned"}},
    ],
}


class ScoreModelSerializer(serializers.ModelSerializer):
    conditions = serializers.JSONField(help_text="[{label, points, condition}] — condition in the segment rule "
                                                 "language (README: Lead scoring).")

    class Meta:
        model = ScoreModel
        fields = ["id", "name", "description", "conditions", "half_life_days", "cap", "is_default", "version",
                  "last_scored_at", "last_score_ms", "scored_count", "last_error", "created_at", "updated_at"]
        read_only_fields = ["version", "last_scored_at", "last_score_ms", "scored_count", "last_error",
                            "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}, "is_default": {"validators": []}}
        validators = []  # the services keep one default and unique names


class ProfileScoreSerializer(serializers.ModelSerializer):
    model_name = serializers.CharField(source="model.name", read_only=True)
    why = serializers.SerializerMethodField()

    class Meta:
        model = ProfileScore
        fields = ["model", "model_name", "profile_id", "contact_id", "score", "points", "why", "scored_at"]

    def get_why(self, row) -> list[dict]:
        return [{"label": label, "points": str(points)} for label, points in why(row.model, row.points)]


def _errors(exc: RuleError) -> Response:
    return _rule_error(exc)


@extend_schema_view(
    create=extend_schema(
        examples=[OpenApiExample("Engagement with decay and a cap", request_only=True, value=ENGAGEMENT_EXAMPLE)],
        responses={201: ScoreModelSerializer, 400: OpenApiResponse(description="Per-item rule errors")}),
)
class ScoreModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ScoreModelSerializer
    permission_classes = [IsAuthenticated, CanBuildSegments]
    queryset = score_models()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if ScoreModel.objects.filter(name=data["name"]).exists():
            return Response({"error": "invalid", "detail": "A score model with this name exists."}, status=400)
        try:
            model = score_model_create(name=data["name"], conditions=data["conditions"],
                                       description=data.get("description", ""),
                                       half_life_days=data.get("half_life_days"), cap=data.get("cap"),
                                       is_default=data.get("is_default", False), user=request.user)
        except RuleError as exc:
            return _errors(exc)
        return Response(self.get_serializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ScoreModelSerializer, 400: OpenApiResponse(description="Per-item rule errors")})
    def update(self, request, *args, **kwargs):
        model = self.get_object()
        serializer = self.get_serializer(model, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        try:
            model = score_model_update(model=model, changes=dict(serializer.validated_data))
        except RuleError as exc:
            return _errors(exc)
        return Response(self.get_serializer(model).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        try:
            score_model_delete(model=self.get_object())
        except RuleError as exc:
            return Response({"error": "in_use", "detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: ScoreModelSerializer})
    @action(detail=True, methods=["post"])
    def rescore(self, request, pk=None):
        """Queue a full rescoring of every profile; poll the model (last_scored_at, last_error)."""
        model = self.get_object()
        score_model_rescore_request(model=model)
        model.refresh_from_db()
        return Response(self.get_serializer(model).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=ProfileScoreSerializer(many=True))
    @action(detail=True, methods=["get"])
    def scores(self, request, pk=None):
        """Scored profiles of the model, highest first, with the why (paginated)."""
        rows = ProfileScore.objects.filter(model=self.get_object()).select_related("model").order_by(
            "-score", "profile_id")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ProfileScoreSerializer(page, many=True).data)
