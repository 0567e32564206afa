"""Celery tasks of identity and profiles (imported from cdp.tasks so the worker registers them)."""

from __future__ import annotations

from celery import shared_task

from cdp.services import computed_traits


@shared_task(name="cdp.tasks.computed_trait_recompute", ignore_result=True)
def computed_trait_recompute_task(trait_id: int) -> int:
    """Rebuild one computed trait for every profile from the events (safe to run twice)."""
    return computed_traits.computed_trait_recompute(trait_id=trait_id)


@shared_task(name="cdp.tasks.computed_traits_recompute_all", ignore_result=True)
def computed_traits_recompute_all_task() -> int:
    """Nightly: rebuild every enabled computed trait (refreshes windows as days pass)."""
    done = 0
    for trait in computed_traits.definitions_enabled():
        done += computed_traits.computed_trait_recompute(trait_id=trait.pk)
    return done
