"""Replay protection for webhooks whose signature does not cover the body (Mailgun signs only timestamp + token):
each token is accepted once. Tokens are remembered in Redis (SET NX with an expiry longer than the accepted
signature age), so every web process shares the memory.

Unlike throttling, this fails closed: without Redis a replay cannot be told from a first delivery, so the caller
answers 503 and the platform retries later.
"""

from __future__ import annotations

import hashlib

import redis
from django.conf import settings

from config.redis_clients import redis_client


class ReplayCheckUnavailable(Exception):
    """Redis could not be asked whether the token was used (answered with 503 + Retry-After)."""


def _key(scope: str, token: str) -> str:
    return f"cdp:hook-token:{scope}:{hashlib.sha256(token.encode()).hexdigest()}"


def token_claim(*, scope: str, token: str, ttl_seconds: int) -> bool:
    """Remember ``token`` for ``ttl_seconds``; True the first time, False when it was seen already."""
    try:
        return bool(redis_client(settings.REDIS_URL).set(_key(scope, token), b"1", nx=True, ex=ttl_seconds))
    except (redis.RedisError, OSError) as exc:
        raise ReplayCheckUnavailable(str(exc)) from exc


def token_release(*, scope: str, token: str) -> None:
    """Forget ``token`` (its request could not be stored, so the platform's retry must be accepted)."""
    try:
        redis_client(settings.REDIS_URL).delete(_key(scope, token))
    except (redis.RedisError, OSError):
        pass  # the token then expires on its own; a retry with a new token still works
