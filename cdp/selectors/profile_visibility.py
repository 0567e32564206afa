"""Who may see which CDP profile: the one scoping of profiles for pages (list, search, Customer 360, timeline,
merge graph) and any endpoint that takes a profile id.

- admins and Marketing (who own the CDP) see every profile;
- a profile linked to a CRM contact is visible to exactly those who may see that contact (crm's own rule:
  ``crm.selectors.contacts.contacts_visible_to``); the CRM outbox copies the contact's name, email, phone, custom
  fields and owner into the profile's traits, so the profile is as private as the contact;
- a profile not linked to any contact (a web visitor, an identified user the CRM does not know) is visible to
  Marketing and admins only: nothing ties it to a rep's or an agent's customers.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from cdp.models import Profile
from cdp.selectors.profiles import profile_resolve
from crm.roles import MARKETING
from crm.selectors.contacts import contacts_visible_to
from crm.selectors.visibility import has_role


def sees_all_profiles(user: AbstractBaseUser) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return has_role(user, MARKETING)


def profiles_visible_to(user: AbstractBaseUser) -> QuerySet[Profile]:
    """Profiles (survivors and merged ones alike) ``user`` may see."""
    if sees_all_profiles(user):
        return Profile.objects.all()
    if not (user.is_authenticated and user.is_active):
        return Profile.objects.none()
    return Profile.objects.filter(crm_contact_id__in=contacts_visible_to(user).values("pk"))


def profile_visible_for(user: AbstractBaseUser, pk: int) -> Profile | None:
    """The profile ``pk`` (or, when it was merged, its survivor) if ``user`` may see it; None otherwise, so a
    page answers 404 alike for a missing and an invisible profile."""
    profile = profile_resolve(pk)
    if profile is None or not profiles_visible_to(user).filter(pk=profile.pk).exists():
        return None
    return profile
