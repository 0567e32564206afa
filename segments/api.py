"""API (DRF): segments CRUD with per-node rule errors, live preview, members, membership history per segment
and per profile, refresh trigger and status. Marketing and admins use the segment endpoints; anyone who may
open Customer 360 may read a profile's memberships."""

from __future__ import annotations

from django.db import OperationalError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from cdp.selectors.source_pages import can_view_sources
from segments.models import Membership, Segment
from segments.rules.validation import RuleError
from segments.selectors.access import can_build_segments
from segments.selectors.evaluation import rule_preview
from segments.selectors.memberships import profile_membership_history, segment_history, segment_members
from segments.selectors.pages import segment_words
from segments.services.definitions import rule_check
from segments.services.refresh import segment_refresh_request
from segments.services.segments import segment_create, segment_delete, segment_update

RULE_EXAMPLE = {
    "type": "all",
    "conditions": [
        {"type": "event", "event_type": "page", "where": [{"property": "path", "op": "equals", "value": "/pricing"}],
         "count": {"op": "at_least", "value": 3}, "window": {"kind": "last_days", "days": 7}},
        {"type": "deal", "has": True, "where": [{"field": "status", "op": "equals", "value": "open"},
                                                {"field": "stage", "op": "equals", "value": "4"}]},
        {"type": "tickets", "status": "open", "priority": ["urgent"], "count": {"op": "exactly", "value": 0}},
        {"type": "any", "conditions": [
            {"type": "trait", "key": "plan", "op": "in", "value": ["pro", "enterprise"]},
            {"type": "trait", "source": "account", "key": "seats", "value_type": "number", "op": "gte", "value": 50},
        ]},
    ],
}
ABANDONED_CART = {"type": "all", "conditions": [
    {"type": "sequence", "first": {"event": "Cart Viewed"}, "then": {"event": "Order Completed"}, "within_days": 1,
     "then_performed": False, "window": {"kind": "last_days", "days": 14}}]}
RULE_ERROR_EXAMPLE = {"error": "invalid_rule", "detail": "definition.conditions[0].op: Operator 'contains' is not "
                      "valid for a number value; ...", "errors": [{"path": "definition.conditions[0].op", "message":
                                                                   "Operator 'contains' is not valid for a number "
                                                                   "value; use one of equals, ..."}]}


class CanBuildSegments(BasePermission):
    message = "Segments are built by Marketing and admins."

    def has_permission(self, request, view):
        return can_build_segments(request.user)


def _rule_error(exc: RuleError) -> Response:
    return Response({"error": "invalid_rule", "detail": str(exc), "errors": exc.errors},
                    status=status.HTTP_400_BAD_REQUEST)


class SegmentSerializer(serializers.ModelSerializer):
    definition = serializers.JSONField(help_text="The rule tree (README: Segments, the rule language).")
    rule_in_words = serializers.SerializerMethodField()

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "definition", "mode", "interval_minutes", "status", "last_error",
                  "size", "version", "refreshed_version", "last_refreshed_at", "last_refresh_ms", "depends_on",
                  "uses_time", "created_at", "updated_at", "rule_in_words"]
        read_only_fields = ["status", "last_error", "size", "version", "refreshed_version", "last_refreshed_at",
                            "last_refresh_ms", "depends_on", "uses_time", "created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}, "mode": {"required": False},
                        "interval_minutes": {"required": False}}

    def get_rule_in_words(self, segment: Segment) -> str:
        return segment_words(segment)


class MembershipSerializer(serializers.ModelSerializer):
    segment_name = serializers.CharField(source="segment.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["segment", "segment_name", "profile_id", "entered_at", "exited_at"]


class MemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Membership
        fields = ["profile_id", "entered_at"]


PreviewRequest = inline_serializer("SegmentPreviewRequest", {
    "definition": serializers.JSONField(), "segment_id": serializers.IntegerField(required=False)})
PreviewResponse = inline_serializer("SegmentPreview", {
    "count": serializers.IntegerField(), "sample": serializers.ListField(child=serializers.IntegerField())})


@extend_schema_view(
    create=extend_schema(
        examples=[OpenApiExample("Pricing visitors with an open deal and no urgent ticket", request_only=True,
                                 value={"name": "Hot pricing visitors", "mode": "realtime",
                                        "definition": RULE_EXAMPLE}),
                  OpenApiExample("Hot leads: engagement score of at least 50 (score model 1)", request_only=True,
                                 value={"name": "Hot leads", "mode": "realtime", "definition": {
                                     "type": "all", "conditions": [
                                         {"type": "score", "model": 1, "op": "gte", "value": 50}]}}),
                  OpenApiExample("Abandoned cart", request_only=True,
                                 value={"name": "Abandoned cart", "mode": "scheduled", "interval_minutes": 60,
                                        "definition": ABANDONED_CART})],
        responses={201: SegmentSerializer, 400: OpenApiResponse(description="Per-node rule errors", examples=[
            OpenApiExample("Invalid rule", value=RULE_ERROR_EXAMPLE)])}),
)
class SegmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SegmentSerializer
    permission_classes = [IsAuthenticated, CanBuildSegments]
    queryset = Segment.objects.order_by("name")
    search_fields = ["name"]
    ordering_fields = ["name", "size", "last_refreshed_at"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            segment = segment_create(by=request.user, name=data["name"], definition=data["definition"],
                                     description=data.get("description", ""),
                                     mode=data.get("mode", Segment.Mode.REALTIME),
                                     interval_minutes=data.get("interval_minutes", 60))
        except RuleError as exc:
            return _rule_error(exc)
        return Response(self.get_serializer(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: SegmentSerializer, 400: OpenApiResponse(description="Per-node rule errors")})
    def update(self, request, *args, **kwargs):
        segment = self.get_object()
        serializer = self.get_serializer(segment, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            segment = segment_update(segment=segment, name=data.get("name"), definition=data.get("definition"),
                                     description=data.get("description"), mode=data.get("mode"),
                                     interval_minutes=data.get("interval_minutes"))
        except RuleError as exc:
            return _rule_error(exc)
        return Response(self.get_serializer(segment).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        try:
            segment_delete(segment=self.get_object())
        except RuleError as exc:
            return Response({"error": "in_use", "detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=PreviewRequest, responses={200: PreviewResponse, 400: OpenApiResponse(
        description="Per-node rule errors"), 422: OpenApiResponse(description="Too slow to count live")},
        examples=[OpenApiExample("Preview", request_only=True, value={"definition": RULE_EXAMPLE})])
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """Count and a sample of profile ids matching a rule now (cut off after a few seconds)."""
        body = request.data if isinstance(request.data, dict) else {}
        segment_id = body.get("segment_id") if isinstance(body.get("segment_id"), int) else None
        try:
            norm = rule_check(body.get("definition"), segment_id=segment_id)
        except RuleError as exc:
            return _rule_error(exc)
        try:
            count, sample = rule_preview(norm, sample=10, timeout_ms=5000)
        except OperationalError:
            return Response({"error": "too_slow", "detail": "The rule takes too long to count live."},
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return Response({"count": count, "sample": sample})

    @extend_schema(responses=MemberSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        """Current members, newest first (paginated)."""
        page = self.paginate_queryset(segment_members(self.get_object()))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)

    @extend_schema(responses=MembershipSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        """Every membership interval of the segment (entered_at / exited_at), most recent first."""
        page = self.paginate_queryset(segment_history(self.get_object()).select_related("segment"))
        return self.get_paginated_response(MembershipSerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: SegmentSerializer})
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        """Request a full refresh; poll the segment (status, refreshed_version, last_error) for its outcome."""
        segment = self.get_object()
        segment_refresh_request(segment=segment)
        segment.refresh_from_db()
        return Response(self.get_serializer(segment).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses=MembershipSerializer(many=True))
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def profile_memberships(request, profile_id: int):
    """A profile's membership history in every segment (readable by whoever may open Customer 360)."""
    if not can_view_sources(request.user):
        return Response({"error": "permission_denied", "detail": "Not allowed."}, status=status.HTTP_403_FORBIDDEN)
    from cdp.selectors.profile_visibility import profile_visible_for  # noqa: PLC0415

    # The same scoping as Customer 360: 404 alike for a missing profile and one the user may not see.
    profile = profile_visible_for(request.user, profile_id)
    if profile is None:
        return Response({"error": "not_found", "detail": "No such profile."}, status=status.HTTP_404_NOT_FOUND)
    rows = profile_membership_history(profile.pk)[:500]
    return Response(MembershipSerializer(rows, many=True).data)

