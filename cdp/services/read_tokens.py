"""Read tokens of the profile API: random secrets of which only the SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from cdp.models import ReadToken

PREFIX = "rt_"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def read_token_create(*, name: str) -> tuple[ReadToken, str]:
    """Create a token named ``name``; returns it with the raw secret (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise ValueError("A token needs a name.")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ReadToken.objects.create(name=name[:120], prefix=raw[:10], token_hash=token_hash(raw))
    return token, raw


def read_token_revoke(*, token: ReadToken) -> None:
    ReadToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def read_token_check(raw: str) -> ReadToken | None:
    """The active token for ``raw`` (None if unknown or revoked); records use at most once a minute."""
    token = ReadToken.objects.filter(token_hash=token_hash(raw), revoked_at__isnull=True).first()
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ReadToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
