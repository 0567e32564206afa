"""Read tokens of the profile API: random secrets of which only the SHA-256 is stored.

A token carries scopes (ReadTokenScope; identifiers only unless granted more), an optional expiry and an optional
own rate limit. Each authenticated request is counted in Redis in one pipelined round trip (the per-minute window
of the rate limit, and the uses not yet written to the row); the row's ``use_count``/``last_used_at`` are written
at most once per CDP_READ_TOKEN_USAGE_FLUSH_SECONDS per token, with an F() increment.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from cdp.models import ReadToken, ReadTokenScope
from config.redis_clients import redis_client

log = logging.getLogger(__name__)

PREFIX = "rt_"
WINDOW_SECONDS = 60


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _scopes_clean(scopes: Iterable[str] | None) -> list[str]:
    if scopes is None:
        return [ReadTokenScope.IDENTIFIERS.value]
    known = {c.value for c in ReadTokenScope}
    chosen = set(scopes)
    if unknown := chosen - known:
        raise ValueError(f"Unknown scope(s): {', '.join(sorted(unknown))}.")
    return [c.value for c in ReadTokenScope if c.value in chosen]  # a stable order


def read_token_create(*, name: str, scopes: Iterable[str] | None = None, expires_at: datetime | None = None,
                      requests_per_minute: int | None = None) -> tuple[ReadToken, str]:
    """Create a token named ``name``; returns it with the raw secret (shown once, never stored).

    ``scopes`` defaults to identifiers only (no personal data unless asked for); ``expires_at`` None: never.
    """
    name = name.strip()
    if not name:
        raise ValueError("A token needs a name.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry must be in the future.")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ReadToken.objects.create(name=name[:120], prefix=raw[:10], token_hash=token_hash(raw),
                                     scopes=_scopes_clean(scopes), expires_at=expires_at,
                                     requests_per_minute=requests_per_minute)
    return token, raw


def read_token_rotate(*, token: ReadToken, scopes: Iterable[str] | None = None,
                      expires_at: datetime | None = None) -> tuple[ReadToken, str]:
    """Give ``token`` a new secret (returned, shown once); the old secret stops working at once.

    ``scopes``/``expires_at`` replace the token's when given (None keeps them). A revoked token cannot be rotated.
    """
    if token.revoked_at is not None:
        raise ValueError("A revoked token cannot be rotated; create a new one.")
    raw = PREFIX + secrets.token_urlsafe(32)
    token.prefix, token.token_hash = raw[:10], token_hash(raw)
    fields = ["prefix", "token_hash"]
    if scopes is not None:
        token.scopes = _scopes_clean(scopes)
        fields.append("scopes")
    if expires_at is not None:
        if expires_at <= timezone.now():
            raise ValueError("The expiry must be in the future.")
        token.expires_at = expires_at
        fields.append("expires_at")
    token.save(update_fields=fields)
    return token, raw


def read_token_revoke(*, token: ReadToken) -> None:
    ReadToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def read_token_find(raw: str) -> ReadToken | None:
    """The unrevoked token for ``raw`` (expired ones included: the caller tells them apart), or None."""
    return ReadToken.objects.filter(token_hash=token_hash(raw), revoked_at__isnull=True).first()


def read_token_check(raw: str) -> ReadToken | None:
    """The usable token for ``raw`` (None if unknown, revoked or expired), its use recorded. No rate limit."""
    token = read_token_find(raw)
    if token is None or read_token_expired(token):
        return None
    read_token_record_use(token)
    return token


def read_token_expired(token: ReadToken, now: datetime | None = None) -> bool:
    return token.expires_at is not None and token.expires_at <= (now or timezone.now())


def read_token_limit(token: ReadToken) -> int:
    """Requests per minute this token may make (0: unlimited)."""
    if token.requests_per_minute is not None:
        return token.requests_per_minute
    return settings.CDP_READ_TOKEN_REQUESTS_PER_MINUTE


@dataclass(slots=True)
class Use:
    in_window: int  # requests of this token in the current minute, this one included (0: not counted)
    retry_after: int  # seconds until the window ends


def _pending_key(pk: int) -> str:
    return f"cdp:rt:uses:{pk}"


def read_token_record_use(token: ReadToken) -> Use:
    """Count one request of ``token``: one Redis round trip; the row is written at most once per flush interval.

    With Redis unavailable nothing is rate limited (fail open) and the row is written at most once a minute.
    """
    now = time.time()
    window = int(now) // WINDOW_SECONDS
    retry_after = max(1, WINDOW_SECONDS - int(now) % WINDOW_SECONDS)
    flush_every = settings.CDP_READ_TOKEN_USAGE_FLUSH_SECONDS
    client = redis_client(settings.REDIS_URL)
    window_key = f"cdp:rt:n:{token.pk}:{window}"
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(window_key)
        pipe.expire(window_key, WINDOW_SECONDS + 5)
        pipe.incr(_pending_key(token.pk))
        pipe.expire(_pending_key(token.pk), 7 * 24 * 3600)
        if flush_every > 0:
            pipe.set(f"cdp:rt:flush:{token.pk}", b"1", nx=True, ex=flush_every)
        results = pipe.execute()
        flush = flush_every <= 0 or bool(results[4])
        uses = 0
        if flush:
            tx = client.pipeline(transaction=True)
            tx.get(_pending_key(token.pk))
            tx.delete(_pending_key(token.pk))
            uses = int(tx.execute()[0] or 0)
    except (redis.RedisError, OSError) as exc:
        log.warning("cdp: read token use not counted in Redis: %s", exc)
        at = timezone.now()
        if token.last_used_at is None or at - token.last_used_at > timedelta(minutes=1):
            ReadToken.objects.filter(pk=token.pk).update(last_used_at=at, use_count=F("use_count") + 1)
        return Use(in_window=0, retry_after=retry_after)
    if uses:
        ReadToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now(), use_count=F("use_count") + uses)
    return Use(in_window=int(results[0]), retry_after=retry_after)


def read_token_pending_uses(tokens: Sequence[ReadToken]) -> dict[int, int]:
    """Uses of each token counted in Redis and not yet written to its row ({} when Redis is unavailable)."""
    if not tokens:
        return {}
    try:
        values = redis_client(settings.REDIS_URL).mget([_pending_key(t.pk) for t in tokens])
    except (redis.RedisError, OSError):
        return {}
    return {t.pk: int(v or 0) for t, v in zip(tokens, values, strict=True)}
