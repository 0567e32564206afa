"""Customer 360, profile search, computed traits and read tokens (included from cdp/urls.py)."""

from django.urls import path

from cdp.views import computed, profiles, tokens

urlpatterns = [
    path("profiles/", profiles.profile_list, name="profile-list"),
    path("profiles/<int:pk>/", profiles.profile_detail, name="profile-detail"),
    path("profiles/<int:pk>/timeline/", profiles.profile_timeline_part, name="profile-timeline"),
    path("profiles/identifiers/<int:identifier_id>/split/", profiles.identifier_split_view,
         name="identifier-split"),
    path("computed-traits/", computed.trait_list, name="computed-traits"),
    path("computed-traits/new/", computed.trait_new, name="computed-trait-new"),
    path("computed-traits/<int:pk>/", computed.trait_edit, name="computed-trait-edit"),
    path("computed-traits/<int:pk>/delete/", computed.trait_delete, name="computed-trait-delete"),
    path("computed-traits/<int:pk>/recompute/", computed.trait_recompute, name="computed-trait-recompute"),
    path("read-tokens/", tokens.token_list, name="read-tokens"),
    path("read-tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="read-token-revoke"),
    path("read-tokens/<int:pk>/rotate/", tokens.token_rotate_view, name="read-token-rotate"),
]
