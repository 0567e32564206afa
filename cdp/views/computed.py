"""Computed trait definitions (marketers)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cdp.forms.profiles import ComputedTraitForm
from cdp.models import ComputedTrait
from cdp.services.computed_traits import computed_trait_forget
from cdp.tasks import computed_trait_recompute_task
from cdp.views.access import cdp_manager_required, cdp_viewer_required
from cdp.views.nav import nav
from config.queueing import enqueue_on_commit


@cdp_viewer_required
def trait_list(request):
    return render(request, "cdp/profiles/computed_list.html", {
        "traits": ComputedTrait.objects.order_by("key"), **nav(request, "computed")})


def _save(request, form, *, created: bool):
    with transaction.atomic():
        trait = form.save()
        # A new or changed definition is rebuilt from the events; incremental updates continue from there.
        enqueue_on_commit(computed_trait_recompute_task, trait.pk)
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
    trait = get_object_or_404(ComputedTrait, pk=pk)
    key = trait.key
    with transaction.atomic():
        trait.delete()
        computed_trait_forget(key=key)
    messages.success(request, f"“{key}” deleted.")
    return redirect("cdp:computed-traits")


@require_POST
@cdp_manager_required
def trait_recompute(request, pk: int):
    trait = get_object_or_404(ComputedTrait, pk=pk)
    enqueue_on_commit(computed_trait_recompute_task, trait.pk)
    messages.success(request, f"Recomputing “{trait.name}” for every profile.")
    return redirect("cdp:computed-traits")
