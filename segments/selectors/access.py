"""Who may do what with segments: Marketing and admins build them and see their members; Sales and Support
see a profile's memberships on pages they may already open (Customer 360, the contact page)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from crm.roles import MARKETING
from crm.selectors.visibility import has_role


def can_build_segments(user: AbstractBaseUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or has_role(user, MARKETING)
