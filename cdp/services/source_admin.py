"""Changing a source's settings from the CDP pages (creation and key rotation live in cdp.services.sources)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from cdp.models import Source
from cdp.services.source_cache import source_cache_invalidate


@transaction.atomic
def source_settings_update(*, source_id: int, enabled: bool, allowed_origins: list[str],
                           rate_limit_per_second: int | None, settings_changes: dict[str, Any] | None = None) -> Source:
    """Change the editable settings of a source. ``settings_changes`` merges into ``Source.settings``; an
    empty value leaves an existing secret unchanged, so secrets never have to be shown again to keep them."""
    source = Source.objects.select_for_update().get(pk=source_id)
    source.enabled = enabled
    source.allowed_origins = list(allowed_origins)
    source.rate_limit_per_second = rate_limit_per_second
    merged = dict(source.settings or {})
    for key, value in (settings_changes or {}).items():
        if value not in ("", None):
            merged[key] = value
    source.settings = merged
    source.save(update_fields=["enabled", "allowed_origins", "rate_limit_per_second", "settings"])
    source_cache_invalidate()  # a disabled source or a new limit counts at once in every process
    return source
