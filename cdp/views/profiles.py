"""Profile search and the Customer 360 page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cdp.extensions import segments_for_profile
from cdp.models import ComputedTrait, Identifier
from cdp.selectors.customer360 import EVENT_KINDS, profile_crm, profile_timeline
from cdp.selectors.profile_visibility import profile_visible_for, profiles_visible_to, sees_all_profiles
from cdp.selectors.profiles import profile_identifiers, profile_merges, profiles_search
from cdp.services.identity_split import SplitError, identifier_split
from cdp.views.access import cdp_viewer_required
from cdp.views.nav import nav
from crm.selectors.visibility import is_admin

TIMELINE_KINDS = {**EVENT_KINDS, "activity": "Activities", "ticket": "Tickets", "stage_change": "Deal stages",
                  "history": "Changes", "lifecycle": "Lifecycle"}


@cdp_viewer_required
def profile_list(request):
    q = request.GET.get("q", "").strip()
    results = list(profiles_search(q, visible=profiles_visible_to(request.user)).prefetch_related("identifiers"))
    return render(request, "cdp/profiles/list.html", {"q": q, "profiles": results, **nav(request, "profiles")})


def _kinds(request) -> set[str] | None:
    kinds = {k for k in request.GET.getlist("kind") if k in TIMELINE_KINDS}
    return kinds or None


def _profile_or_404(request, pk: int):
    """The profile (or its survivor) if the user may see it; 404 alike for missing and invisible profiles."""
    profile = profile_visible_for(request.user, pk)
    if profile is None:
        raise Http404("No such profile.")
    return profile


@cdp_viewer_required
def profile_detail(request, pk: int):
    profile = _profile_or_404(request, pk)
    if profile.pk != pk:
        return redirect("cdp:profile-detail", pk=profile.pk)
    crm = profile_crm(profile, user=request.user)
    kinds = _kinds(request)
    names = dict(ComputedTrait.objects.values_list("key", "name"))
    return render(request, "cdp/profiles/detail.html", {
        "profile": profile, "identifiers": profile_identifiers(profile), "crm": crm,
        "traits": sorted((profile.traits or {}).items()),
        "computed": [(names.get(k, k), k, v) for k, v in sorted((profile.computed or {}).items())],
        "why": profile_merges(profile, visible=None if sees_all_profiles(request.user)
                              else profiles_visible_to(request.user)), "segments": segments_for_profile(profile.pk),
        "timeline": profile_timeline(profile, user=request.user, crm=crm, kinds=kinds),
        "kinds": TIMELINE_KINDS, "selected": kinds or set(), "can_split": is_admin(request.user),
        **nav(request, "profiles"),
    })


@cdp_viewer_required
def profile_timeline_part(request, pk: int):
    profile = _profile_or_404(request, pk)
    crm = profile_crm(profile, user=request.user)
    return render(request, "cdp/profiles/_timeline.html", {
        "profile": profile, "timeline": profile_timeline(profile, user=request.user, crm=crm, kinds=_kinds(request)),
    })


@require_POST
@cdp_viewer_required
def identifier_split_view(request, identifier_id: int):
    if not is_admin(request.user):
        raise PermissionDenied("Only admins split identifiers.")
    ident = Identifier.objects.filter(pk=identifier_id).first()
    if ident is None:
        raise Http404("No such identifier.")
    back = ident.profile_id
    try:
        split = identifier_split(identifier_id=ident.pk, by=request.user)
    except SplitError as exc:
        messages.error(request, str(exc))
        return redirect("cdp:profile-detail", pk=back)
    messages.success(request, f"{ident.type}:{ident.value} now has its own profile "
                              f"({split.events_moved} events moved with it).")
    return redirect("cdp:profile-detail", pk=split.to_profile_id)
