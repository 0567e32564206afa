"""Django admin that writes through the CRM services, so an admin's edit or delete reaches the outbox (and so the
CDP), the history and the lifecycle log exactly like the same change made on the pages or the API.

``ServiceForm`` runs the service once the form itself is valid (in ``_post_clean``, inside the admin's
transaction): a ``ValidationError`` or ``PermissionDenied`` from the service becomes a form error, and the
record the service saved is the one the admin shows next. ``ServiceAdmin`` then leaves saving to that form and
routes single and bulk deletes through the delete service.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction


class ServiceForm(forms.ModelForm):
    actor = None  # the admin user; set on the class by ServiceAdmin.get_form

    def service_create(self, data: dict[str, Any]):
        raise NotImplementedError

    def service_update(self, instance, changes: dict[str, Any]):
        raise NotImplementedError

    def service_value(self, name: str, value: Any) -> Any:
        """The cleaned form value as the service expects it (override for text lists and the like)."""
        return value

    def _post_clean(self):
        # Not ModelForm's model validation: it would judge the raw input (an unnormalised domain, say) by the
        # model's constraints. The service normalises and validates, as it does for the pages and the API.
        if self.errors:
            return
        adding = self.instance._state.adding
        names = [name for name in self.fields if adding or name in self.changed_data]
        data = {name: self.service_value(name, self.cleaned_data.get(name)) for name in names}
        try:
            with transaction.atomic():  # a refused change leaves nothing behind
                if adding:
                    saved = self.service_create(data)
                elif data:
                    saved = self.service_update(type(self.instance).objects.get(pk=self.instance.pk), data)
                else:
                    saved = self.instance
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
            return
        except PermissionDenied as exc:
            self.add_error(None, str(exc) or "You may not make this change.")
            return
        self.instance = saved


class NoHistoryRevert:
    """SimpleHistoryAdmin mixin: a past version can be looked at, never saved back (that would write around the
    services; SIMPLE_HISTORY_REVERT_DISABLED only hides the button)."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("Reverting from history is disabled; edit the record instead.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class DeleteThroughService:
    """ModelAdmin mixin: a delete (one, or the bulk action) calls ``delete_service(obj, actor)`` per record."""

    def delete_service(self, obj, actor) -> None:
        raise NotImplementedError

    def delete_model(self, request, obj):
        try:
            self.delete_service(obj, request.user)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset.order_by("pk"):
            self.delete_model(request, obj)


class ServiceAdmin(NoHistoryRevert, DeleteThroughService, admin.ModelAdmin):
    """Saves through ``form`` (a ``ServiceForm``) and deletes through ``delete_service(obj, actor)``."""

    form = ServiceForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_form(self, request, form, change):
        return form.instance  # already saved by the service

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # inlines of these admins are read-only
            formset.save()


def lines(value: str | None) -> list[str]:
    """Non-blank lines (or comma-separated items) of a textarea."""
    return [item.strip() for line in (value or "").splitlines() for item in line.split(",") if item.strip()]
