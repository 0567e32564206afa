"""API: tickets and their comments, queues, SLA policies, canned responses — scoped by the ticket selectors
(the same as the pages); writes go through the ticket services."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.response import Response

from config.filters import UtcIsoDateTimeFilter
from crm.api.common_sales import service_errors
from crm.models import CannedResponse, SlaPolicy, Ticket, TicketEntry, TicketQueue
from crm.selectors.tickets import (
    canned_responses_for,
    entries_visible_to,
    is_agent,
    queues_visible_to,
    ticket_can_edit,
    tickets_visible_to,
)
from crm.selectors.visibility import is_admin
from crm.services.tickets import (
    ticket_assign,
    ticket_change_priority,
    ticket_change_queue,
    ticket_change_status,
    ticket_create,
    ticket_note,
    ticket_reply,
)
from crm.services.tickets_contacts import contact_for_email


class IsAgent(permissions.BasePermission):
    message = "Only support agents and admins may do this."

    def has_permission(self, request, view) -> bool:
        return is_agent(request.user)


class AgentReadsAdminWrites(permissions.BasePermission):
    message = "Only admins manage this."

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return is_agent(request.user)
        return is_admin(request.user)


class TicketSerializer(serializers.ModelSerializer):
    requester_email = serializers.EmailField(write_only=True, required=False,
                                             help_text="Links the contact with this email, or creates one.")
    queue = serializers.PrimaryKeyRelatedField(queryset=TicketQueue.objects.all(), required=False, allow_null=True)
    assignee = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.filter(is_active=True),
                                                  required=False, allow_null=True)

    class Meta:
        model = Ticket
        fields = ["id", "number", "subject", "description", "status", "priority", "channel", "requester",
                  "requester_email", "company", "queue", "team", "assignee", "tags", "custom", "sla_policy",
                  "first_response_due_at", "resolution_due_at", "sla_paused_at", "first_response_breached_at",
                  "resolution_breached_at", "first_response_at", "solved_at", "closed_at", "csat_rating",
                  "csat_comment", "created_at", "updated_at"]
        read_only_fields = ["id", "number", "requester", "company", "team", "sla_policy", "first_response_due_at",
                            "resolution_due_at", "sla_paused_at", "first_response_breached_at",
                            "resolution_breached_at", "first_response_at", "solved_at", "closed_at", "csat_rating",
                            "csat_comment", "created_at", "updated_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["queue"].queryset = queues_visible_to(request.user)
        if self.instance is not None and not isinstance(self.instance, list | tuple) and hasattr(self.instance, "pk"):
            for name in ("subject", "description", "channel", "requester_email", "tags", "custom"):
                self.fields[name].read_only = True


class CommentSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Ticket.Status.choices, write_only=True, required=False,
                                     help_text="Public replies only: the status to set after replying.")

    class Meta:
        model = TicketEntry
        fields = ["id", "kind", "body", "body_html", "incoming", "author", "author_name", "status", "created_at"]
        read_only_fields = ["id", "body_html", "incoming", "author", "author_name", "created_at"]

    def get_author_name(self, entry) -> str:
        if entry.author is not None:
            return entry.author.get_full_name() or entry.author.get_username()
        return str(entry.author_contact) if entry.author_contact_id else ""


class QueueSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketQueue
        fields = ["id", "name", "team", "email_address", "round_robin", "is_default", "calendar"]


class SlaPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = ["id", "name", "priority", "queue", "first_response_minutes", "resolution_minutes",
                  "warn_before_minutes", "calendar"]

    def validate(self, attrs):
        """One policy per priority and queue, and one shared (no queue) per priority: the model's constraints,
        which DRF does not check for a condition, answered as a 400 instead of a database error."""
        current = self.instance
        priority = attrs.get("priority", getattr(current, "priority", None))
        queue = attrs["queue"] if "queue" in attrs else getattr(current, "queue", None)
        clash = SlaPolicy.objects.filter(priority=priority, queue=queue)
        if current is not None:
            clash = clash.exclude(pk=current.pk)
        if clash.exists():
            raise serializers.ValidationError({"priority": ["There is a policy for this priority and queue already."]})
        return attrs


class CannedResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = CannedResponse
        fields = ["id", "title", "body", "team", "created_at"]
        read_only_fields = ["id", "created_at"]


class TicketFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Ticket.Status.choices)
    priority = filters.MultipleChoiceFilter(choices=Ticket.Priority.choices)
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    open = filters.BooleanFilter(method="filter_open", label="Open (not solved or closed)")

    class Meta:
        model = Ticket
        fields = ["status", "priority", "queue", "assignee", "requester", "channel"]

    def filter_open(self, queryset, name, value):
        opened = list(Ticket.OPEN_STATUSES)
        return queryset.filter(status__in=opened) if value else queryset.exclude(status__in=opened)


class TicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Tickets the caller may see. Agents and admins create and change them (status moves are validated);
    sales reps read the tickets of their contacts."""

    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    search_fields = ["subject", "=number"]
    ordering_fields = ["created_at", "resolution_due_at", "number", "priority"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return tickets_visible_to(self.request.user).select_related("queue")

    def get_object(self):
        ticket = super().get_object()
        if self.request.method not in permissions.SAFE_METHODS and not ticket_can_edit(self.request.user, ticket):
            raise PermissionDenied("You may read this ticket but not change it.")
        return ticket

    def create(self, request, *args, **kwargs):
        if not is_agent(request.user):
            raise PermissionDenied("Only support agents and admins create tickets.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors():
            requester = contact_for_email(email=data["requester_email"]) if data.get("requester_email") else None
            ticket = ticket_create(subject=data["subject"], description=data.get("description", ""),
                                   requester=requester, queue=data.get("queue"),
                                   priority=data.get("priority", Ticket.Priority.NORMAL),
                                   channel=data.get("channel", Ticket.Channel.API), actor=request.user,
                                   assignee=data.get("assignee"), tags=data.get("tags", []),
                                   custom=data.get("custom"))
        return Response(self.get_serializer(ticket).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        ticket = self.get_object()
        serializer = self.get_serializer(ticket, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors():
            if "queue" in data and data["queue"] is not None and data["queue"].pk != ticket.queue_id:
                ticket = ticket_change_queue(ticket=ticket, queue=data["queue"], actor=request.user)
            if "priority" in data:
                ticket = ticket_change_priority(ticket=ticket, priority=data["priority"], actor=request.user)
            if "assignee" in data:
                ticket = ticket_assign(ticket=ticket, assignee=data["assignee"], actor=request.user)
            if "status" in data:
                ticket = ticket_change_status(ticket=ticket, status=data["status"], actor=request.user)
        return Response(self.get_serializer(Ticket.objects.get(pk=ticket.pk)).data)

    @extend_schema(request=CommentSerializer, responses=CommentSerializer(many=True))
    @action(detail=True, methods=["get", "post"], serializer_class=CommentSerializer)
    def comments(self, request, pk=None):
        """The conversation (internal notes only for those who work the ticket); POST adds a reply or a note."""
        ticket = get_object_or_404(tickets_visible_to(request.user), pk=pk)
        if request.method == "GET":
            entries = entries_visible_to(request.user, ticket)
            page = self.paginate_queryset(entries)
            return self.get_paginated_response(CommentSerializer(page, many=True).data)
        if not ticket_can_edit(request.user, ticket):
            raise PermissionDenied("You may read this ticket but not change it.")
        serializer = CommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with service_errors():
            if data["kind"] == TicketEntry.Kind.NOTE:
                entry = ticket_note(ticket=ticket, author=request.user, body=data["body"])
            else:
                entry = ticket_reply(ticket=ticket, author=request.user, body=data["body"], status=data.get("status"))
        return Response(CommentSerializer(entry).data, status=status.HTTP_201_CREATED)


class QueueViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = QueueSerializer
    permission_classes = [IsAgent]

    def get_queryset(self):
        return queues_visible_to(self.request.user)


class SlaPolicyViewSet(viewsets.ModelViewSet):
    """SLA policies: agents read, admins manage."""

    serializer_class = SlaPolicySerializer
    permission_classes = [AgentReadsAdminWrites]
    queryset = SlaPolicy.objects.all()


class CannedResponseViewSet(viewsets.ModelViewSet):
    """Canned responses: agents read the shared ones and their teams'; team members write their teams' (and edit
    their own), leads their teams' and the shared ones, admins all — the rules of the canned responses page."""

    serializer_class = CannedResponseSerializer
    permission_classes = [IsAgent]

    def get_queryset(self):
        return canned_responses_for(self.request.user)

    def perform_create(self, serializer):
        from crm.services.tickets_canned import canned_response_create

        data = serializer.validated_data
        with service_errors():
            serializer.instance = canned_response_create(actor=self.request.user, title=data["title"],
                                                         body=data["body"], team=data.get("team"))

    def perform_update(self, serializer):
        from crm.services.tickets_canned import canned_response_update

        data, response = serializer.validated_data, serializer.instance
        with service_errors():
            serializer.instance = canned_response_update(
                actor=self.request.user, response=response, title=data.get("title", response.title),
                body=data.get("body", response.body), team=data["team"] if "team" in data else response.team)

    def perform_destroy(self, instance):
        from crm.services.tickets_canned import canned_response_delete

        canned_response_delete(actor=self.request.user, response=instance)

