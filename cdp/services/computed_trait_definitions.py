"""Writes of computed trait definitions: a new or changed definition is rebuilt from the events (queued after
commit); incremental updates continue from there."""

from __future__ import annotations

from django.db import transaction

from cdp.models import ComputedTrait
from cdp.services.computed_traits import computed_trait_forget
from config.queueing import enqueue_on_commit


def computed_trait_recompute_request(*, trait: ComputedTrait) -> None:
    """Queue the rebuild of ``trait`` for every profile (after the surrounding transaction commits)."""
    enqueue_on_commit("cdp.tasks.computed_trait_recompute", trait.pk)


@transaction.atomic
def computed_trait_save(*, trait: ComputedTrait) -> ComputedTrait:
    """Save a new or changed definition (already validated) and queue its rebuild after commit."""
    trait.save()
    computed_trait_recompute_request(trait=trait)
    return trait


@transaction.atomic
def computed_trait_delete(*, trait: ComputedTrait) -> str:
    """Delete the definition and its values on every profile; returns its key."""
    key = trait.key
    trait.delete()
    computed_trait_forget(key=key)
    return key
