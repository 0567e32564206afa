"""Who sees and works which tickets — the one scoping that ticket pages, the API and exports use — and the queues.

- admins (superusers) see and work every ticket;
- Support agents see and work the tickets of their teams (member or manager) — every ticket gets a team from
  its queue (the default queue when none is given); a ticket without a queue is left to admins;
- Sales reps see, read-only, the tickets whose requester is a contact they may edit (their own or their team's);
- everyone else sees none.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from crm.models import AgentAvailability, CannedResponse, SupportNotification, Team, Ticket, TicketEntry, TicketQueue
from crm.roles import SALES, SUPPORT
from crm.selectors.visibility import NOTHING, _role_names, _teams, editable_q, is_admin

OPEN = list(Ticket.OPEN_STATUSES)
BREACHING_SOON = timedelta(hours=2)


def agent_team_ids(user: AbstractBaseUser) -> list[int]:
    """Teams whose tickets ``user`` works as an agent (member or manager)."""
    member, managed, _members = _teams(user)
    return sorted({*member, *managed})


def is_agent(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and user.is_active and (is_admin(user) or SUPPORT in _role_names(user)))


def _agent_q(user: AbstractBaseUser, prefix: str = "") -> Q:
    # One IN list (not "or no team"): the queue pages then read the (team, due) partial indexes in order.
    return Q(**{f"{prefix}team_id__in": agent_team_ids(user)})


def tickets_editable_q(user: AbstractBaseUser, *, prefix: str = "") -> Q | None:
    """Q for tickets ``user`` may work (reply, change); None = all."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if is_admin(user):
        return None
    return _agent_q(user, prefix) if SUPPORT in _role_names(user) else NOTHING


def tickets_visible_q(user: AbstractBaseUser, *, prefix: str = "") -> Q | None:
    """Q for tickets ``user`` may see; None = all."""
    editable = tickets_editable_q(user, prefix=prefix)
    if editable is None:
        return None
    if SALES in _role_names(user):
        contacts = editable_q(user, prefix=f"{prefix}requester__")
        if contacts is None:
            return None
        editable = editable | (Q(**{f"{prefix}requester__isnull": False}) & contacts)
    return editable


def _scoped(queryset: QuerySet, q: Q | None) -> QuerySet:
    return queryset if q is None else queryset.filter(q)


def tickets_visible_to(user: AbstractBaseUser) -> QuerySet[Ticket]:
    return _scoped(Ticket.objects.all(), tickets_visible_q(user))


def tickets_editable_by(user: AbstractBaseUser) -> QuerySet[Ticket]:
    return _scoped(Ticket.objects.all(), tickets_editable_q(user))


def ticket_can_edit(user: AbstractBaseUser, ticket: Ticket) -> bool:
    """Whether ``user`` may work ``ticket`` — the rule of :func:`tickets_editable_q`, read from the loaded ticket
    (no query beyond the cached roles and teams)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if is_admin(user):
        return True
    return SUPPORT in _role_names(user) and ticket.team_id is not None and ticket.team_id in agent_team_ids(user)


def queues_visible_to(user: AbstractBaseUser) -> QuerySet[TicketQueue]:
    if is_admin(user):
        return TicketQueue.objects.select_related("team")
    if not is_agent(user):
        return TicketQueue.objects.none()
    return TicketQueue.objects.select_related("team").filter(team_id__in=agent_team_ids(user))


def canned_responses_for(user: AbstractBaseUser, *, ticket: Ticket | None = None) -> QuerySet[CannedResponse]:
    """Shared responses and those of the user's teams (admins: all); for a ticket, only the shared ones and its
    team's."""
    if is_admin(user):
        responses = CannedResponse.objects.all()
    elif not is_agent(user):
        return CannedResponse.objects.none()
    else:
        responses = CannedResponse.objects.filter(Q(team__isnull=True) | Q(team_id__in=agent_team_ids(user)))
    if ticket is not None:
        responses = responses.filter(Q(team__isnull=True) | Q(team_id=ticket.team_id))
    return responses


def canned_may_manage_shared(user: AbstractBaseUser) -> bool:
    """Shared canned responses (every team uses them) are managed by admins and by support leads — agents who
    manage a team."""
    if is_admin(user):
        return True
    return is_agent(user) and bool(_teams(user)[1])


def canned_team_ids_writable_by(user: AbstractBaseUser) -> list[int] | None:
    """Teams ``user`` may write canned responses for (None = every team: admins). Agents write for their teams."""
    if is_admin(user):
        return None
    return agent_team_ids(user) if is_agent(user) else []


def canned_can_edit(user: AbstractBaseUser, response: CannedResponse) -> bool:
    """Who may edit or delete a canned response: admins any; a shared one, the leads (see
    :func:`canned_may_manage_shared`); a team's one, that team's lead, or the team member who wrote it."""
    if is_admin(user):
        return True
    if not is_agent(user):
        return False
    if response.team_id is None:
        return canned_may_manage_shared(user)
    member, managed, _members = _teams(user)
    if response.team_id in managed:
        return True
    return response.team_id in member and response.created_by_id == user.pk


def entries_visible_to(user: AbstractBaseUser, ticket: Ticket, *, can_edit: bool | None = None
                       ) -> QuerySet[TicketEntry]:
    """The conversation of a ticket the user may see; internal notes only for those who may work it
    (``can_edit``: already known by the caller, saves a query)."""
    entries = TicketEntry.objects.filter(ticket=ticket).select_related("author", "author_contact") \
        .prefetch_related("attachments").order_by("created_at", "id")
    if not (ticket_can_edit(user, ticket) if can_edit is None else can_edit):
        entries = entries.filter(kind=TicketEntry.Kind.PUBLIC)
    return entries


# --- Queues ------------------------------------------------------------------------------------------------

QUEUES = {
    "mine": "My open tickets",
    "unassigned": "Unassigned",
    "team": "All open in my teams",
    "breaching": "Breaching soon",
    "overdue": "Overdue",
}


def _queue_q(name: str, user: AbstractBaseUser, now: datetime, *, open_only: bool = True) -> Q:
    # open_only=False: the caller already filters on the open statuses (the counts: a FILTER that repeats status
    # would read the heap, while the rest is answered by the partial (team, due) index alone).
    q = Q(status__in=OPEN) if open_only else Q()
    if name == "mine":
        return q & Q(assignee=user)
    if name == "unassigned":
        return q & Q(assignee__isnull=True)
    if name == "breaching":
        return q & Q(resolution_due_at__gte=now, resolution_due_at__lt=now + BREACHING_SOON) \
            & Q(resolution_breached_at__isnull=True)
    if name == "overdue":
        return q & Q(resolution_due_at__lt=now)
    return q


def ticket_queue(name: str, *, user: AbstractBaseUser, now: datetime | None = None,
                 queue_id: int | None = None) -> QuerySet[Ticket]:
    """Open tickets of one of ``QUEUES`` that ``user`` may work, by SLA due time (paused ones last)."""
    now = now or timezone.now()
    tickets = tickets_editable_by(user).filter(_queue_q(name, user, now))
    if queue_id:
        tickets = tickets.filter(queue_id=queue_id)
    return tickets.select_related("requester", "assignee", "queue").order_by(
        "resolution_due_at", "id").only(
        "id", "number", "subject", "status", "priority", "resolution_due_at", "first_response_due_at",
        "first_response_at", "resolution_breached_at", "first_response_breached_at", "sla_paused_at",
        "created_at", "requester__first_name", "requester__last_name", "requester__email",
        "assignee__username", "assignee__first_name", "assignee__last_name", "queue__name")


def queue_counts(*, user: AbstractBaseUser, now: datetime | None = None) -> dict[str, int]:
    """The number of tickets in each queue, in one query (shown in the navigation)."""
    if not is_agent(user):
        return {}
    now = now or timezone.now()
    aggregates = {name: Count("id", filter=_queue_q(name, user, now, open_only=False) or None) for name in QUEUES}
    counts = tickets_editable_by(user).filter(status__in=OPEN).aggregate(**aggregates)
    user._support_my_open = counts["mine"]  # the navigation badge of this request reuses it
    return counts


def agent_is_available(user: AbstractBaseUser) -> bool:
    return not AgentAvailability.objects.filter(user=user, available=False).exists()


def notifications_for(user: AbstractBaseUser, *, limit: int = 5) -> list[SupportNotification]:
    """The user's unread SLA notices, newest first."""
    return list(SupportNotification.objects.filter(user=user, read_at__isnull=True)
                .only("id", "ticket_id", "kind", "text", "created_at").order_by("-created_at", "-id")[:limit])


def my_open_ticket_count(user: AbstractBaseUser) -> int:
    """Open tickets assigned to ``user`` that they may work — the "My open tickets" queue — (0 for non-agents),
    for the navigation badge. Reuses the count of :func:`queue_counts` when this request already made it."""
    if not is_agent(user):
        return 0
    cached = getattr(user, "_support_my_open", None)
    if cached is not None:
        return cached
    return tickets_editable_by(user).filter(assignee=user, status__in=OPEN).count()


def ticket_for_page(user: AbstractBaseUser, pk: int) -> Ticket | None:
    # Only the relations the page shows: every further join costs planning time on each view of a ticket.
    return tickets_visible_to(user).select_related(
        "requester", "requester__company", "assignee", "queue", "sla_policy").filter(pk=pk).first()


def agents_for(team_ids: list[int]) -> QuerySet:
    """Support agents of the given teams (for assignment)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, teams__in=team_ids).distinct().order_by(
        "first_name", "last_name", "username")


def teams_for_agent(user: AbstractBaseUser) -> QuerySet[Team]:
    return Team.objects.filter(pk__in=agent_team_ids(user)) if not is_admin(user) else Team.objects.all()


def ticket_requester_context(user: AbstractBaseUser, ticket: Ticket) -> dict:
    """The side panel's CRM facts about the requester that ``user`` may see: their other tickets and the open
    deals of the contact or their company."""
    from crm.models import Deal
    from crm.selectors.deals import deals_visible_to

    requester = ticket.requester
    if requester is None:
        return {}
    company_q = Q(company_id=requester.company_id) if requester.company_id else Q(pk__in=[])
    return {
        "other_tickets": list(tickets_visible_to(user).filter(requester=requester).exclude(pk=ticket.pk)
                              .order_by("-created_at").only("id", "number", "subject", "status", "created_at")[:10]),
        "open_deals": list(deals_visible_to(user).filter(Q(contacts=requester) | company_q, status=Deal.Status.OPEN)
                           .select_related("stage").distinct().order_by("expected_close_date")[:10]),
    }
