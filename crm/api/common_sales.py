"""Shared bits of the sales API: turning service errors into DRF errors, admin-only writes, ordering."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.filters import OrderingFilter

from crm.selectors.sorting import order_from_fields
from crm.selectors.visibility import is_admin


@contextmanager
def service_errors():
    """Re-raise a service's Django errors as DRF ones: 400 with the field messages, 403 with the reason."""
    try:
        yield
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}) from exc


class AdminWritesOnly(permissions.BasePermission):
    """Everyone signed in may read; only admins may write. Nobody else, whatever the view's other classes say."""

    message = "Only admins may change this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or is_admin(request.user)


class FieldOrderingFilter(OrderingFilter):
    """DRF's ``ordering`` parameter, validated as DRF does, sorted by what the view's ``ordering_fields`` (a dict:
    field → sort expressions) give each field, ending with ``id`` (``order_from_fields``): the list pages' sorts,
    with their indexes."""

    def order(self, request, queryset, view) -> list:
        return order_from_fields(view.ordering_fields, self.get_ordering(request, queryset, view) or [])

    def filter_queryset(self, request, queryset, view):
        return queryset.order_by(*self.order(request, queryset, view))
