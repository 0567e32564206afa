"""Who may open which report. What a permitted viewer then sees inside a report is scoped by crm's
visibility selectors (a rep: his own and his teams' records; managers their teams; admins everything)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from crm.models import Team
from crm.roles import MARKETING, SALES, SUPPORT
from crm.selectors.users import user_role_names


def _active(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


def roles_of(user: AbstractBaseUser) -> set[str]:
    cached = getattr(user, "_reports_roles", None)
    if cached is None:
        cached = set(user_role_names(user)) if _active(user) else set()
        if _active(user) and Team.objects.filter(manager=user).exists():
            cached.add("Manager")
        user._reports_roles = cached
    return cached


def can_view_sales(user: AbstractBaseUser) -> bool:
    return bool(roles_of(user) & {"Admin", SALES, "Manager"})


def can_view_marketing(user: AbstractBaseUser) -> bool:
    return bool(roles_of(user) & {"Admin", MARKETING})


def can_view_attribution(user: AbstractBaseUser) -> bool:
    return bool(roles_of(user) & {"Admin", MARKETING, SALES, "Manager"})


def is_support(user: AbstractBaseUser) -> bool:
    return bool(roles_of(user) & {"Admin", SUPPORT})
