"""API (DRF) of segment destinations: a segment's webhooks and CRM actions (list, create, change, delete, rotate a
webhook's secret), each destination's delivery log (webhooks) or action runs (CRM actions), and the dead-letter
list (inspect, replay one, replay in bulk, discard) for admins.

Marketing and admins manage destinations (the segment selector's rule); only admins handle the dead letters.
A webhook's secret is in the answer of its creation and of a rotation, never again."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from crm.selectors.visibility import is_admin
from segments.api import CanBuildSegments
from segments.models import ActionRun, Delivery, Destination, Segment
from segments.selectors.destinations import (
    dead_letters,
    destination_deliveries,
    destination_runs,
    destination_stats,
)
from segments.services.crm_actions import PLACEHOLDERS
from segments.services.destinations import (
    deliveries_discard,
    deliveries_replay,
    deliveries_replay_dead,
    destination_create,
    destination_delete,
    destination_rotate_secret,
    destination_update,
)

TOP_FIELDS = {"kind", "name", "url", "on_enter", "on_exit", "enabled", "traits", "segment"}
CONFIG_HELP = (
    "CRM actions only (replaced as a whole on change). task: {subject, body, assign_to: owner|user|team, user_id, "
    "team_id, due_in_hours} with placeholders " + PLACEHOLDERS + "; tag_add / tag_remove: {tag}; lifecycle: "
    "{stage}; create_contact: {team_id} (owner by turns among the team).")


class IsAdmin(BasePermission):
    message = "The dead-letter list is handled by admins."

    def has_permission(self, request, view):
        return is_admin(request.user)


def invalid(exc: ValidationError) -> Response:
    """A service's field errors as the API's 400: config keys are named ``config.<key>``."""
    detail = {(k if k in TOP_FIELDS else f"config.{k}"): v for k, v in exc.message_dict.items()}
    return Response({"error": "invalid", "detail": detail}, status=status.HTTP_400_BAD_REQUEST)


class StatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    waiting = serializers.IntegerField()
    delivered = serializers.IntegerField(required=False, help_text="Webhooks.")
    dead = serializers.IntegerField(required=False, help_text="Webhooks.")
    success_rate = serializers.FloatField(required=False, allow_null=True,
                                          help_text="Webhooks: % delivered of finished deliveries.")
    lag_p50_seconds = serializers.FloatField(required=False, allow_null=True,
                                             help_text="Webhooks: median time from entry/exit to delivery.")
    lag_p95_seconds = serializers.FloatField(required=False, allow_null=True)
    done = serializers.IntegerField(required=False, help_text="CRM actions.")
    skipped = serializers.IntegerField(required=False, help_text="CRM actions.")
    failed = serializers.IntegerField(required=False, help_text="CRM actions.")


class DestinationSerializer(serializers.ModelSerializer):
    config = serializers.JSONField(help_text=CONFIG_HELP)
    traits = serializers.ListField(child=serializers.CharField(), help_text="Webhooks: trait keys sent.")
    stats = serializers.SerializerMethodField(help_text="The last 24 hours (empty when nothing happened).")

    class Meta:
        model = Destination
        fields = ["id", "segment", "kind", "name", "url", "on_enter", "on_exit", "enabled", "traits", "config",
                  "previous_secret_until", "created_at", "updated_at", "stats"]
        read_only_fields = fields

    @extend_schema_field(StatsSerializer)
    def get_stats(self, destination: Destination) -> dict:
        stats = self.context.get("stats")
        if stats is None:
            return {}
        return stats.get(destination.pk, {})


class DestinationCreatedSerializer(DestinationSerializer):
    secret = serializers.CharField(help_text="Webhooks: the signing secret, shown in this answer only.")

    class Meta(DestinationSerializer.Meta):
        fields = [*DestinationSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DestinationInputSerializer(serializers.Serializer):
    """What a client may set. ``kind`` is fixed at creation; on change, what is not given stays."""

    kind = serializers.ChoiceField(choices=Destination.Kind.choices)
    name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    url = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                help_text="Webhooks: the http(s) URL to POST to (public addresses only).")
    on_enter = serializers.BooleanField(required=False, help_text="Webhooks (CRM actions run on enter).")
    on_exit = serializers.BooleanField(required=False)
    enabled = serializers.BooleanField(required=False)
    traits = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50,
                                   help_text="Webhooks: trait keys to send.")
    config = serializers.DictField(required=False, help_text=CONFIG_HELP)


class DestinationChangeSerializer(DestinationInputSerializer):
    kind = None


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "delivery_id", "destination", "event", "profile_id", "occurred_at", "status", "attempts",
                  "last_status_code", "last_response_ms", "last_error", "next_attempt_at", "created_at",
                  "delivered_at", "dead_at"]
        read_only_fields = fields


class DeadLetterSerializer(DeliverySerializer):
    segment = serializers.IntegerField(source="destination.segment_id", read_only=True)
    segment_name = serializers.CharField(source="destination.segment.name", read_only=True)
    destination_name = serializers.CharField(source="destination.name", read_only=True)
    url = serializers.CharField(source="destination.url", read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "segment", "segment_name", "destination_name", "url", "body"]
        read_only_fields = fields


class ActionRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionRun
        fields = ["id", "destination", "profile_id", "status", "contact_id", "activity_id", "detail", "attempts",
                  "created_at", "done_at"]
        read_only_fields = fields


SecretAnswer = inline_serializer("DestinationSecret", {
    "id": serializers.IntegerField(), "secret": serializers.CharField(help_text="Shown in this answer only."),
    "previous_secret_until": serializers.DateTimeField(
        help_text="Until then the old secret's signature is sent too.")})
CountAnswer = inline_serializer("DeadLetterCount", {"count": serializers.IntegerField()})


class BulkSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                max_length=1000)
    all = serializers.BooleanField(required=False, default=False)
    segment = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    destination = serializers.IntegerField(required=False, min_value=1, max_value=2**62)

    def validate(self, attrs):
        if not attrs.get("all") and not attrs.get("ids"):
            raise serializers.ValidationError({"ids": "Give the ids of dead deliveries (or all: true)."})
        return attrs


SEGMENT_PK = OpenApiParameter("segment_pk", int, OpenApiParameter.PATH, description="The segment's id.")
STATUS = OpenApiParameter("status", str, enum=Delivery.Status.values, description="Only deliveries in this state.")
WEBHOOK_EXAMPLE = {"kind": "webhook", "name": "Warehouse", "url": "https://hooks.example.com/segments",
                   "on_enter": True, "on_exit": True, "traits": ["plan", "city"]}
TASK_EXAMPLE = {"kind": "task", "name": "Call hot leads", "config": {
    "subject": "Call {first_name} ({segment})", "body": "Plan: {traits.plan}", "assign_to": "owner",
    "due_in_hours": 24}}
INVALID_EXAMPLE = {"error": "invalid", "detail": {
    "url": ["127.0.0.1 is a private, loopback, link-local or reserved address; webhooks go to public addresses."],
    "config.subject": ["Give the task a subject."]}}


@extend_schema(parameters=[SEGMENT_PK], tags=["segments"])
@extend_schema_view(
    list=extend_schema(summary="A segment's destinations with their last 24 hours"),
    create=extend_schema(
        request=DestinationInputSerializer,
        examples=[OpenApiExample("Webhook on enter and exit", request_only=True, value=WEBHOOK_EXAMPLE),
                  OpenApiExample("Task for the contact's owner", request_only=True, value=TASK_EXAMPLE),
                  OpenApiExample("Tag", request_only=True, value={"kind": "tag_add", "config": {"tag": "hot"}}),
                  OpenApiExample("Lead contact, owner by turns among team 3", request_only=True,
                                 value={"kind": "create_contact", "config": {"team_id": 3}})],
        responses={201: DestinationCreatedSerializer, 400: OpenApiResponse(
            description="Field errors (config keys as config.<key>)",
            examples=[OpenApiExample("Invalid", value=INVALID_EXAMPLE)])}),
    partial_update=extend_schema(request=DestinationChangeSerializer, responses={200: DestinationSerializer}),
)
class DestinationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DestinationSerializer
    permission_classes = [IsAuthenticated, CanBuildSegments]
    queryset = Destination.objects.none()
    lookup_value_regex = "[0-9]+"
    filter_backends: list = []
    parser_classes = [JSONParser]

    def segment(self) -> Segment:
        if not hasattr(self, "_segment"):
            self._segment = get_object_or_404(Segment, pk=self.kwargs["segment_pk"])
        return self._segment

    def get_queryset(self):
        return Destination.objects.filter(segment=self.segment()).order_by("id")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.action in ("list", "retrieve", "partial_update") and "segment_pk" in self.kwargs:
            context["stats"] = destination_stats(self.segment())
        return context

    def create(self, request, *args, **kwargs):
        segment = self.segment()
        data = DestinationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            destination = destination_create(segment=segment, by=request.user, **data.validated_data)
        except ValidationError as exc:
            return invalid(exc)
        return Response(DestinationCreatedSerializer(destination, context={"stats": {}}).data,
                        status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        destination = self.get_object()
        data = DestinationChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            destination = destination_update(destination=destination, **data.validated_data)
        except ValidationError as exc:
            return invalid(exc)
        return Response(self.get_serializer(destination).data)

    def destroy(self, request, *args, **kwargs):
        destination_delete(destination=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: SecretAnswer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, *args, **kwargs):
        """A new signing secret for a webhook (in this answer only); the old one stays valid for a grace period."""
        destination = self.get_object()
        try:
            secret = destination_rotate_secret(destination=destination)
        except ValidationError as exc:
            return invalid(exc)
        return Response({"id": destination.pk, "secret": secret,
                         "previous_secret_until": destination.previous_secret_until})

    @extend_schema(parameters=[STATUS], responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request, *args, **kwargs):
        """A webhook's delivery log, newest first (paginated): status, attempts, response code and time, last
        error."""
        destination = self.get_object()
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in Delivery.Status.values:
            return Response({"error": "invalid", "detail": {"status": [f"Choose one of "
                                                                      f"{', '.join(Delivery.Status.values)}."]}},
                            status=status.HTTP_400_BAD_REQUEST)
        if not destination.is_webhook:
            return Response({"error": "not_a_webhook", "detail": "A CRM action has runs, not deliveries: see runs/."},
                            status=status.HTTP_400_BAD_REQUEST)
        page = self.paginate_queryset(destination_deliveries(destination, status=wanted))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(responses={200: ActionRunSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def runs(self, request, *args, **kwargs):
        """A CRM action's runs (one per entry), newest first (paginated)."""
        destination = self.get_object()
        if destination.is_webhook:
            return Response({"error": "not_an_action", "detail": "A webhook has deliveries, not runs: see "
                             "deliveries/."}, status=status.HTTP_400_BAD_REQUEST)
        page = self.paginate_queryset(destination_runs(destination))
        return self.get_paginated_response(ActionRunSerializer(page, many=True).data)


@extend_schema(tags=["segments"])
@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("segment", int, description="Only this segment's dead deliveries."),
    OpenApiParameter("destination", int, description="Only this destination's dead deliveries.")]))
class DeadLetterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DeadLetterSerializer
    permission_classes = [IsAuthenticated, IsAdmin]
    lookup_value_regex = "[0-9]+"
    filter_backends: list = []
    parser_classes = [JSONParser]

    def get_queryset(self):
        filters = {}
        for name in ("segment", "destination"):
            value = self.request.query_params.get(name, "") if self.action == "list" else ""
            if value:
                if not value.isdigit() or len(value) > 18:
                    raise serializers.ValidationError({name: ["Enter a whole number."]})
                filters[f"{name}_id"] = int(value)
        return dead_letters(**filters)

    @extend_schema(request=None, responses={200: CountAnswer})
    @action(detail=True, methods=["post"])
    def replay(self, request, *args, **kwargs):
        """Send this delivery again (same delivery id and body, fresh retries)."""
        return Response({"count": deliveries_replay(delivery_ids=[self.get_object().pk])})

    @extend_schema(request=None, responses={200: CountAnswer})
    @action(detail=True, methods=["post"])
    def discard(self, request, *args, **kwargs):
        """Take this delivery off the list without sending it."""
        return Response({"count": deliveries_discard(delivery_ids=[self.get_object().pk])})

    @extend_schema(request=BulkSerializer, responses={200: CountAnswer}, operation_id="dead_letters_replay_bulk",
                   examples=[OpenApiExample("Some", request_only=True, value={"ids": [12, 13]}),
                             OpenApiExample("All of a segment", request_only=True,
                                            value={"all": True, "segment": 4})])
    @action(detail=False, methods=["post"], url_path="replay")
    def replay_bulk(self, request):
        """Replay the given dead deliveries, or all of them; answers how many were queued."""
        data = BulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v.get("all"):
            count = deliveries_replay_dead(segment_id=v.get("segment"), destination_id=v.get("destination"))
        else:
            count = deliveries_replay(delivery_ids=dead_letters().filter(pk__in=v["ids"]).values_list("pk",
                                                                                                  flat=True))
        return Response({"count": count})

    @extend_schema(request=BulkSerializer, responses={200: CountAnswer}, operation_id="dead_letters_discard_bulk")
    @action(detail=False, methods=["post"], url_path="discard")
    def discard_bulk(self, request):
        """Discard the given dead deliveries (all: true is not accepted here)."""
        data = BulkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data.get("ids"):
            return Response({"error": "invalid", "detail": {"ids": ["Give the ids of the deliveries to discard."]}},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({"count": deliveries_discard(delivery_ids=data.validated_data["ids"])})
