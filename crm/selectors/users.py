from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from crm.models import Team


def user_role_names(user: AbstractBaseUser) -> list[str]:
    """Role names of ``user`` ("Admin" for superusers), for display."""
    names = sorted(group.name for group in user.groups.all())
    if user.is_superuser:
        names.insert(0, "Admin")
    return names


def teams_of(user: AbstractBaseUser) -> QuerySet[Team]:
    return Team.objects.filter(members=user).select_related("manager")


def active_user(pk: object) -> AbstractBaseUser | None:
    """The active user with id ``pk`` (any text a form sent), or None."""
    if not str(pk).isdigit():
        return None
    return get_user_model().objects.filter(pk=int(pk), is_active=True).first()
