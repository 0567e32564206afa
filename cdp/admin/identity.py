"""Admin for identity rules and the identity graph (inspection; the rules are edited here)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from cdp.models import (
    BlockedValue,
    ComputedTrait,
    Identifier,
    IdentifierSplit,
    IdentitySettings,
    Profile,
    ProfileMerge,
    ReadToken,
    ReadTokenScope,
    RefusedMerge,
)
from cdp.services.identity_split import SplitError, identifier_split
from cdp.services.read_tokens import read_token_revoke, read_token_rotate


@admin.register(IdentitySettings)
class IdentitySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "link_crm_by_email", "default_phone_region", "updated_at"]
    fieldsets = [(None, {
        "fields": ["limits", "priority", "link_crm_by_email", "default_phone_region"],
        "description": 'Limits: {"user_id": 1, "email": 5, ...} identifiers of a type per profile. Priority: types '
                       'from highest to lowest, "*" for all other (external) types; when a merge would break a '
                       "limit, the message's lowest-priority identifier is dropped and the merge retried.",
    })]

    def has_add_permission(self, request):
        return not IdentitySettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BlockedValue)
class BlockedValueAdmin(admin.ModelAdmin):
    list_display = ["__str__", "is_regex", "identifier_type", "note"]
    list_filter = ["is_regex", "identifier_type"]
    search_fields = ["value", "note"]


@admin.action(description="Split off into a new profile")
def split_identifiers(modeladmin, request, queryset):
    for ident in queryset:
        try:
            split = identifier_split(identifier_id=ident.pk, by=request.user)
        except SplitError as exc:
            modeladmin.message_user(request, f"{ident}: {exc}", messages.ERROR)
            continue
        modeladmin.message_user(request, f"{ident} → profile {split.to_profile_id} ({split.events_moved} events)")


@admin.register(Identifier)
class IdentifierAdmin(admin.ModelAdmin):
    list_display = ["type", "value", "profile", "created_at"]
    list_filter = ["type"]
    search_fields = ["value"]
    raw_id_fields = ["profile"]
    readonly_fields = ["type", "value", "profile", "created_at"]
    actions = [split_identifiers]

    def has_add_permission(self, request):
        return False


class IdentifierInline(admin.TabularInline):
    model = Identifier
    extra = 0
    readonly_fields = ["type", "value", "created_at"]
    can_delete = False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["id", "__str__", "merged_into", "crm_contact_id", "created_at"]
    search_fields = ["identifiers__value"]
    readonly_fields = ["merged_into", "traits", "trait_times", "computed", "account", "crm_contact_id", "created_at"]
    exclude = ["computed_state"]
    inlines = [IdentifierInline]

    def has_add_permission(self, request):
        return False


@admin.register(ProfileMerge)
class ProfileMergeAdmin(admin.ModelAdmin):
    list_display = ["survivor", "merged", "message_id", "at"]
    readonly_fields = ["survivor", "merged", "event_id", "message_id", "identifiers", "at"]
    search_fields = ["message_id"]


@admin.register(RefusedMerge)
class RefusedMergeAdmin(admin.ModelAdmin):
    list_display = ["dropped_type", "dropped_value", "reason", "handed_over", "profile", "other_profile", "at"]
    list_filter = ["dropped_type", "handed_over"]
    readonly_fields = [f.name for f in RefusedMerge._meta.fields]


@admin.register(IdentifierSplit)
class IdentifierSplitAdmin(admin.ModelAdmin):
    list_display = ["identifier_type", "identifier_value", "from_profile", "to_profile", "events_moved", "by", "at"]
    readonly_fields = [f.name for f in IdentifierSplit._meta.fields]


@admin.register(ComputedTrait)
class ComputedTraitAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "aggregate", "event_type", "event_name", "property", "window_days", "enabled"]


class ReadTokenAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ReadTokenScope.choices, widget=forms.CheckboxSelectMultiple,
                                       required=False, help_text="Identifiers only unless personal data is needed.")

    class Meta:
        model = ReadToken
        fields = ["scopes", "expires_at", "requests_per_minute"]


@admin.register(ReadToken)
class ReadTokenAdmin(admin.ModelAdmin):
    form = ReadTokenAdminForm
    list_display = ["name", "prefix", "scopes", "expires_at", "created_at", "last_used_at", "use_count", "revoked_at"]
    list_filter = ["revoked_at"]
    fields = ["name", "prefix", "scopes", "expires_at", "requests_per_minute", "created_at", "last_used_at",
              "use_count", "revoked_at"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at", "use_count", "revoked_at"]
    actions = ["rotate_tokens", "revoke_tokens"]

    def has_add_permission(self, request):
        return False  # created in the CDP pages or with `manage.py createreadtoken`, which show the secret once

    @admin.action(description="Rotate: new secret (shown once), the current one stops working")
    def rotate_tokens(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            token, raw = read_token_rotate(token=token)
            self.message_user(request, f"New secret of read token “{token.name}” (copy it now, it is not shown "
                                       f"again): {raw}", messages.WARNING)

    @admin.action(description="Revoke")
    def revoke_tokens(self, request, queryset):
        for token in queryset:
            read_token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)
