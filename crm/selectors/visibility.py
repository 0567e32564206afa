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

from collections.abc import Callable
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model, Q, QuerySet

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


def role_names(user: AbstractBaseUser) -> set[str]:
    """The role groups of ``user``, read once per user object (one cache for every app)."""
    return _role_names(user)


def has_role(user: AbstractBaseUser, role: str) -> bool:
    """Whether ``user`` belongs to the role group ``role`` (names cached on the user for the request)."""
    return role in _role_names(user)


def _teams(user: AbstractBaseUser) -> tuple[list[int], list[int], list[int]]:
    """(ids of teams the user belongs to, ids of teams the user manages, ids of the members of those managed
    teams), cached on the user object. Two queries: the managed teams come with their members (a left join)."""
    cached = getattr(user, "_crm_teams", None)
    if cached is None:
        member = list(Team.objects.filter(members=user).values_list("id", flat=True))
        rows = list(Team.objects.filter(manager=user).values_list("id", "members"))
        managed = sorted({team_id for team_id, _member_id in rows})
        managed_members = sorted({member_id for _team_id, member_id in rows if member_id is not None})
        cached = (member, managed, managed_members)
        user._crm_teams = cached
    return cached


def _team_ids(user: AbstractBaseUser) -> tuple[list[int], list[int]]:
    """(ids of teams the user belongs to, ids of teams the user manages), cached on the user object."""
    member, managed, _managed_members = _teams(user)
    return member, managed


def is_admin(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and user.is_superuser)


def editable_q(user: AbstractBaseUser, *, prefix: str = "") -> Q | None:
    """Q for records ``user`` may edit; None means "all" (admins). ``prefix`` reaches a related record."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if is_admin(user):
        return None
    member, managed, managed_members = _teams(user)
    q = NOTHING
    if SALES in _role_names(user) or managed:
        q = Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}team__in": member + managed})
    if managed_members:
        # The member ids as a literal list, not a subquery: Postgres then estimates how many records they own
        # and can match them with the owner index (a hashed subplan is a filter on every row).
        q |= Q(**{f"{prefix}owner_id__in": managed_members})
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


class OwnedSelectors(NamedTuple):
    """The three reads every owned record type (contacts, companies, deals) offers, from ``owned_selectors``."""

    visible_to: Callable[[AbstractBaseUser], QuerySet]
    editable_by: Callable[[AbstractBaseUser], QuerySet]
    is_editable_by: Callable[[AbstractBaseUser, Model], bool]


def owned_selectors(model: type[Model]) -> OwnedSelectors:
    """The visible/editable selectors of a record type with ``owner`` and ``team``, scoped by these rules once."""

    def visible_to(user: AbstractBaseUser) -> QuerySet:
        return scope(model.objects.all(), visible_q(user))

    def editable_by(user: AbstractBaseUser) -> QuerySet:
        return scope(model.objects.all(), editable_q(user))

    def is_editable_by(user: AbstractBaseUser, record: Model) -> bool:
        return editable_by(user).filter(pk=record.pk).exists()

    return OwnedSelectors(visible_to, editable_by, is_editable_by)
