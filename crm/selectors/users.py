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
