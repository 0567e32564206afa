"""Computed trait definitions (marketers)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cdp.forms.profiles import ComputedTraitForm
from cdp.models import ComputedTrait
from cdp.services.computed_trait_definitions import (
    computed_trait_delete,
    computed_trait_recompute_request,
    computed_trait_save,
)
from cdp.views.access import cdp_manager_required, cdp_viewer_required
from cdp.views.nav import nav


@cdp_viewer_required
def trait_list(request):
    return render(request, "cdp/profiles/computed_list.html", {
        "traits": ComputedTrait.objects.order_by("key"), **nav(request, "computed")})


def _save(request, form, *, created: bool):
    trait = computed_trait_save(trait=form.save(commit=False))
    messages.success(request, f"“{trait.name}” {'created' if created else 'saved'}; values are being computed.")
    return redirect("cdp:computed-traits")


@cdp_manager_required
def trait_new(request):
    form = ComputedTraitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _save(request, form, created=True)
    return render(request, "cdp/profiles/computed_form.html", {"form": form, **nav(request, "computed")})


@cdp_manager_required
def trait_edit(request, pk: int):
    trait = get_object_or_404(ComputedTrait, pk=pk)
    form = ComputedTraitForm(request.POST or None, instance=trait)
    if request.method == "POST" and form.is_valid():
        return _save(request, form, created=False)
    return render(request, "cdp/profiles/computed_form.html", {"form": form, "trait": trait,
                                                               **nav(request, "computed")})


@require_POST
@cdp_manager_required
def trait_delete(request, pk: int):
    key = computed_trait_delete(trait=get_object_or_404(ComputedTrait, pk=pk))
    messages.success(request, f"“{key}” deleted.")
    return redirect("cdp:computed-traits")


@require_POST
@cdp_manager_required
def trait_recompute(request, pk: int):
    trait = get_object_or_404(ComputedTrait, pk=pk)
    computed_trait_recompute_request(trait=trait)
    messages.success(request, f"Recomputing “{trait.name}” for every profile.")
    return redirect("cdp:computed-traits")
