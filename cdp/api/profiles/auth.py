"""Authentication, rate limit and scopes of the profile API: the one place that decides what a read token may do.

Every endpoint declares the scope it needs with ``@profile_endpoint(scope=...)``; answers, in this order:
401 (no, unknown, revoked or expired token), 429 with Retry-After (over the token's requests per minute),
403 (the token lacks the scope), then the endpoint's own answers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps

from django.utils import timezone
from django.views.decorators.http import require_GET

from cdp.api.errors import ApiError, error_response
from cdp.models import Profile, ReadToken, ReadTokenScope
from cdp.selectors.profiles import profile_for_identifier
from cdp.services.read_tokens import read_token_expired, read_token_find, read_token_limit, read_token_record_use

_CHALLENGE = 'Bearer realm="profiles"'


def _raw_token(request) -> str | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            return base64.b64decode(value, validate=True).decode().partition(":")[0] or None
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ApiError(401, "unauthorized", "malformed Basic authorization header") from None
    return None


def authenticate(request) -> ReadToken:
    """The request's usable read token, its use counted; raises ApiError 401 or 429."""
    raw = _raw_token(request)
    if not raw:
        raise ApiError(401, "unauthorized", "a read token is required (Authorization: Bearer <token>)",
                       headers={"WWW-Authenticate": _CHALLENGE})
    token = read_token_find(raw)
    if token is None:
        raise ApiError(401, "unauthorized", "unknown or revoked read token",
                       headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'})
    now = timezone.now()
    if read_token_expired(token, now):
        raise ApiError(401, "token_expired", f"this read token expired at {token.expires_at.isoformat()}",
                       headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'})
    use = read_token_record_use(token)
    limit = read_token_limit(token)
    if limit and use.in_window > limit:
        raise ApiError(429, "rate_limited",
                       f"this read token may make {limit} requests per minute; retry after {use.retry_after} s",
                       headers={"Retry-After": str(use.retry_after)})
    return token


def require_scope(token: ReadToken, scope: ReadTokenScope) -> None:
    if scope.value not in token.scopes:
        raise ApiError(403, "insufficient_scope",
                       f"this read token lacks the “{scope.value}” scope (it has: {', '.join(token.scopes) or 'none'})",
                       headers={"WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope", scope="{scope.value}"'})


def profile_endpoint(*, scope: ReadTokenScope) -> Callable[[Callable], Callable]:
    """A GET endpoint of one profile, named by ``{type}:{value}``, for tokens holding ``scope``."""

    def decorate(view: Callable) -> Callable:
        @require_GET
        @wraps(view)
        def wrapper(request, ident: str):
            try:
                token = authenticate(request)
                require_scope(token, scope)
                type_, sep, value = ident.partition(":")
                if not sep or not type_ or not value:
                    raise ApiError(400, "bad_identifier",
                                   "use {type}:{value}, e.g. user_id:42 or email:ann@example.com")
                profile: Profile | None = profile_for_identifier(type_, value)
                if profile is None:
                    raise ApiError(404, "not_found", f"no profile has the identifier {type_}:{value}")
                return view(request, profile)
            except ApiError as exc:
                return error_response(exc)

        wrapper.required_scope = scope  # read by the OpenAPI description and the tests
        return wrapper

    return decorate
