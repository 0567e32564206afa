"""Who may create owned records and whom they may assign them to (owner and team).

Builds on the rules in ``crm.selectors.visibility``:
- admins may assign any active user and any team, or leave them empty;
- team managers may assign themselves or a member of a team they manage, and a team they manage or belong to;
- Sales reps may assign only themselves, and only a team they belong to;
- Marketing and Support create and assign nothing (their access is read-only).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from crm.models import Team
from crm.roles import SALES
from crm.selectors.visibility import READ_ALL_ROLES, _role_names, _team_ids, is_admin


def can_create_records(user: AbstractBaseUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return is_admin(user) or SALES in _role_names(user) or bool(_team_ids(user)[1])


def assignable_owners(user: AbstractBaseUser) -> QuerySet:
    """Users ``user`` may set as owner of a record, ordered by name."""
    User = get_user_model()
    qs = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if not can_create_records(user):
        return qs.none()
    if is_admin(user):
        return qs
    _member, managed = _team_ids(user)
    if managed:
        return qs.filter(Q(pk=user.pk) | Q(pk__in=User.objects.filter(teams__in=managed).values("pk")))
    return qs.filter(pk=user.pk)


def assignable_teams(user: AbstractBaseUser) -> QuerySet[Team]:
    if not can_create_records(user):
        return Team.objects.none()
    if is_admin(user):
        return Team.objects.all()
    member, managed = _team_ids(user)
    return Team.objects.filter(pk__in=member + managed)


def may_assign_owner(user: AbstractBaseUser, owner: AbstractBaseUser | None) -> bool:
    if owner is None:
        return is_admin(user) or bool(_team_ids(user)[1])
    return assignable_owners(user).filter(pk=owner.pk).exists()


def may_assign_team(user: AbstractBaseUser, team: Team | None) -> bool:
    if team is None:
        return True
    return assignable_teams(user).filter(pk=team.pk).exists()


def owner_choices(user: AbstractBaseUser, *, current_id: int | None = None) -> QuerySet:
    """Assignable owners plus the record's current owner (so a form can keep it unchanged)."""
    User = get_user_model()
    ids = Q(pk__in=assignable_owners(user).values("pk"))
    if current_id:
        ids |= Q(pk=current_id)
    return User.objects.filter(ids).order_by("first_name", "last_name", "username")


def team_choices(user: AbstractBaseUser, *, current_id: int | None = None) -> QuerySet[Team]:
    ids = Q(pk__in=assignable_teams(user).values("pk"))
    if current_id:
        ids |= Q(pk=current_id)
    return Team.objects.filter(ids)


def owner_filter_choices(user: AbstractBaseUser) -> QuerySet:
    """Owners offered in list filters: everyone for admins and read-all roles, else whom the user may assign."""
    if is_admin(user) or _role_names(user) & READ_ALL_ROLES:
        return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    return assignable_owners(user)
