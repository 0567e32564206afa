"""Sources and their write keys."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cdp.models import Source
from cdp.models.sources import new_write_key

CRM_SOURCE_NAME = "CRM"


def source_for_write_key(key: str) -> Source | None:
    """The source whose current write key is ``key``, or whose previous key it is and still within its grace
    period. Disabled sources are returned too (the caller answers 403). None for an unknown or expired key."""
    if not key or len(key) > 64 or "\x00" in key:  # Postgres text cannot hold NUL: such a key matches nothing
        return None
    return (
        Source.objects.filter(Q(write_key=key) | Q(previous_write_key=key, previous_key_expires_at__gt=timezone.now()))
        .order_by("id")
        .first()
    )


def source_create(
    *,
    name: str,
    kind: str,
    enabled: bool = True,
    allowed_origins: list[str] | None = None,
    rate_limit_per_second: int | None = None,
    settings: dict | None = None,
) -> Source:
    """Create a source with a fresh random write key."""
    source = Source(
        name=name,
        kind=kind,
        enabled=enabled,
        allowed_origins=list(allowed_origins or []),
        rate_limit_per_second=rate_limit_per_second,
        settings=dict(settings or {}),
    )
    source.full_clean()
    source.save()
    return source


def source_rotate_key(*, source: Source, grace: timedelta | None = None) -> str:
    """Give ``source`` a new write key; the current one keeps working for ``grace`` (default
    CDP_KEY_ROTATION_GRACE_HOURS). A key rotated out earlier stops working at once. Returns the new key."""
    if grace is None:
        grace = timedelta(hours=settings.CDP_KEY_ROTATION_GRACE_HOURS)
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        locked.previous_write_key = locked.write_key
        locked.previous_key_expires_at = timezone.now() + grace
        locked.write_key = new_write_key()
        locked.save(update_fields=["previous_write_key", "previous_key_expires_at", "write_key"])
    source.write_key = locked.write_key
    source.previous_write_key = locked.previous_write_key
    source.previous_key_expires_at = locked.previous_key_expires_at
    return locked.write_key


def crm_source() -> Source:
    """The built-in source the CRM's own changes are ingested under (created on first use)."""
    source = Source.objects.filter(kind=Source.Kind.CRM).order_by("id").first()
    if source is None:
        source, _ = Source.objects.get_or_create(name=CRM_SOURCE_NAME, defaults={"kind": Source.Kind.CRM})
    return source
