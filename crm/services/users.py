from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from crm.models import Team
from crm.roles import ALL_ROLES


def roles_ensure() -> list[Group]:
    """Create the role groups if missing; return them in the order of ``ALL_ROLES``."""
    return [Group.objects.get_or_create(name=name)[0] for name in ALL_ROLES]


@transaction.atomic
def user_upsert(
    *,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    role: str | None = None,
    team: Team | None = None,
    is_superuser: bool = False,
):
    """Create or update a user with the given role group and team membership; resets the password."""
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username)
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.is_superuser = user.is_staff = is_superuser
    user.set_password(password)
    user.save()
    if role:
        user.groups.add(Group.objects.get(name=role))
    if team:
        team.members.add(user)
    return user
