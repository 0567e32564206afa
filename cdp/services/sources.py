"""Sources and their write keys (stored hashed: see cdp.models.sources)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cdp.models import Source
from cdp.models.sources import KEY_PREFIX_LENGTH, new_write_key, write_key_hash
from cdp.services.source_cache import source_cache_invalidate

CRM_SOURCE_NAME = "CRM"


def source_for_write_key(key: str) -> Source | None:
    """The source whose current write key is ``key``, or whose previous key it is and still within its grace
    period. Disabled sources are returned too (the caller answers 403). None for an unknown or expired key."""
    if not key or len(key) > 200:
        return None
    digest = write_key_hash(key)
    return (
        Source.objects.filter(Q(write_key_hash=digest)
                              | Q(previous_key_hash=digest, previous_key_expires_at__gt=timezone.now()))
        .order_by("id")
        .first()
    )


def _set_key(source: Source) -> str:
    key = new_write_key()
    source.write_key_hash = write_key_hash(key)
    source.write_key_prefix = key[:KEY_PREFIX_LENGTH]
    return key


def source_create(
    *,
    name: str,
    kind: str,
    enabled: bool = True,
    allowed_origins: list[str] | None = None,
    rate_limit_per_second: int | None = None,
    settings: dict | None = None,
    identity_keys: bool | None = None,
) -> Source:
    """Create a source with a fresh random write key. ``identity_keys`` None: the kind's default
    (Source.asserts_identity). The key itself is only on the returned object
    (``source.write_key``): it is not stored, so show it now or never."""
    source = Source(
        name=name,
        kind=kind,
        enabled=enabled,
        allowed_origins=list(allowed_origins or []),
        rate_limit_per_second=rate_limit_per_second,
        settings=dict(settings or {}),
        identity_keys=identity_keys,
    )
    key = _set_key(source)
    source.full_clean()
    source.save()
    source.write_key = key
    return source


def source_rotate_key(*, source: Source, grace: timedelta | None = None) -> str:
    """Give ``source`` a new write key; the current one keeps working for ``grace`` (default
    CDP_KEY_ROTATION_GRACE_HOURS). A key rotated out earlier stops working at once. Returns the new key (shown
    once; only its hash is stored)."""
    if grace is None:
        grace = timedelta(hours=settings.CDP_KEY_ROTATION_GRACE_HOURS)
    with transaction.atomic():
        locked = Source.objects.select_for_update().get(pk=source.pk)
        locked.previous_key_hash = locked.write_key_hash
        locked.previous_key_prefix = locked.write_key_prefix
        locked.previous_key_expires_at = timezone.now() + grace
        key = _set_key(locked)
        locked.save(update_fields=["previous_key_hash", "previous_key_prefix", "previous_key_expires_at",
                                   "write_key_hash", "write_key_prefix"])
        source_cache_invalidate()
    for field in ("previous_key_hash", "previous_key_prefix", "previous_key_expires_at", "write_key_hash",
                  "write_key_prefix"):
        setattr(source, field, getattr(locked, field))
    source.write_key = key
    return key


def source_end_grace(*, source: Source) -> bool:
    """Stop the previous write key of ``source`` at once (after a leak, or once every sender has switched).
    Returns whether there was a previous key to stop."""
    with transaction.atomic():
        ended = Source.objects.filter(pk=source.pk, previous_key_hash__isnull=False).update(
            previous_key_hash=None, previous_key_prefix="", previous_key_expires_at=None)
        source_cache_invalidate()
    source.previous_key_hash, source.previous_key_prefix, source.previous_key_expires_at = None, "", None
    return bool(ended)


def crm_source() -> Source:
    """The built-in source the CRM's own changes are ingested under (created on first use). Its write key is
    never used: /v1 refuses it, and nothing shows it."""
    source = Source.objects.filter(kind=Source.Kind.CRM).order_by("id").first()
    if source is None:
        source, _ = Source.objects.get_or_create(name=CRM_SOURCE_NAME, defaults={"kind": Source.Kind.CRM})
    return source
