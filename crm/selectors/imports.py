"""Reads of import jobs: a person sees their own imports; admins see all."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from crm.models import ImportJob
from crm.selectors.visibility import is_admin


def import_jobs_visible_to(user: AbstractBaseUser) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("created_by")
    return qs if is_admin(user) else qs.filter(created_by_id=user.pk)
