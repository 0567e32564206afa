"""Who may see and edit owned CRM records. The one place the role × owner rules live.

Every owned record (company, contact, deal, ticket, ...) has ``owner`` (a user, nullable) and
``team`` (a Team, nullable). The rules:

- admins (superusers) see and edit everything;
- Sales reps see and edit records they own or that one of their teams owns;
- team managers also see and edit everything owned by their team or by its members;
- Marketing and Support see every record read-only (``READ_ALL_ROLES``) — they segment and serve
  customers of any owner — but edit nothing through these rules;
- everyone else sees nothing.

Selectors per model (``contacts_visible_to`` ...) build on ``visible_q`` / ``editable_q`` so that
pages, search, exports, the kanban and the API share one scoping.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from crm.models import Team
from crm.roles import MARKETING, SALES, SUPPORT

READ_ALL_ROLES = frozenset({MARKETING, SUPPORT})
NOTHING = Q(pk__in=[])


def _role_names(user: AbstractBaseUser) -> set[str]:
    cached = getattr(user, "_crm_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._crm_role_names = cached
    return cached


def _team_ids(user: AbstractBaseUser) -> tuple[list[int], list[int]]:
    """(ids of teams the user belongs to, ids of teams the user manages), cached on the user object."""
    cached = getattr(user, "_crm_team_ids", None)
    if cached is None:
        member = list(Team.objects.filter(members=user).values_list("id", flat=True))
        managed = list(Team.objects.filter(manager=user).values_list("id", flat=True))
        cached = (member, managed)
        user._crm_team_ids = cached
    return cached


def is_admin(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and user.is_superuser)


def editable_q(user: AbstractBaseUser, *, prefix: str = "") -> Q | None:
    """Q for records ``user`` may edit; None means "all" (admins). ``prefix`` reaches a related record."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if is_admin(user):
        return None
    member, managed = _team_ids(user)
    q = NOTHING
    if SALES in _role_names(user) or managed:
        q = Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}team__in": member + managed})
    if managed:
        # A subquery, not a join: joining through memberships would duplicate rows.
        members = get_user_model().objects.filter(teams__in=managed).values("id")
        q |= Q(**{f"{prefix}owner_id__in": members})
    return q


def visible_q(user: AbstractBaseUser, *, prefix: str = "") -> Q | None:
    """Q for records ``user`` may see; None means "all"."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if is_admin(user) or _role_names(user) & READ_ALL_ROLES:
        return None
    return editable_q(user, prefix=prefix)


def scope(queryset, q: Q | None):
    """Apply a visibility Q (None = everything) to a queryset."""
    return queryset if q is None else queryset.filter(q)
