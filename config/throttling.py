"""DRF throttles of the /api/ endpoints: per token, per user and per anonymous client, counted in Redis.

Rates come from settings (API_THROTTLE_TOKEN, API_THROTTLE_USER, API_THROTTLE_ANON) and are read on each request.
An over-limit request gets 429 {"error": "throttled", "detail": ...} with Retry-After (config.api). If Redis is
unreachable the request is let through: throttling is a guard, not a reason to take the API down.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from config.client_ip import client_ip

log = logging.getLogger(__name__)


class _Throttle(SimpleRateThrottle):
    setting = ""

    def get_rate(self):
        return getattr(settings, self.setting)

    def get_ident(self, request):
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):
            log.warning("Throttle %s not applied: Redis unavailable", self.scope, exc_info=True)
            return True


class TokenRateThrottle(_Throttle):
    """Requests authenticated with an API token, per token (each integration has its own budget)."""

    scope = "token"
    setting = "API_THROTTLE_TOKEN"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Token):
            return None
        digest = hashlib.sha256(request.auth.key.encode()).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": digest}


class UserRateThrottle(_Throttle):
    """Every authenticated request (session or token), per user."""

    scope = "user"
    setting = "API_THROTTLE_USER"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AnonRateThrottle(_Throttle):
    """Requests without credentials, per client address (see config.client_ip)."""

    scope = "anon"
    setting = "API_THROTTLE_ANON"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
