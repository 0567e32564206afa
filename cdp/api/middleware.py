"""A lean path for the /v1 collection calls: they answer before the rest of the middleware stack runs.

The collection views use no session, user, CSRF token (they are csrf_exempt), messages, htmx details or
history context, and they are called thousands of times a second, so the middlewares placed after this one
(sessions, common, CSRF, auth, messages, X-Frame-Options, htmx, simple_history) are skipped for them. The
middlewares before it (security, static files) still run. Every other path, including /v1/profiles/, takes the
normal route.
"""

from __future__ import annotations

from django.urls import Resolver404, resolve

from cdp.api import views

PREFIX = "/v1/"
_NOT_COLLECT = ""
_MAX_ROUTES = 256


class CollectFastPathMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self._kinds: dict[str, str] = {}  # path -> message kind ("" when the path is not a collection call)

    def _kind(self, path: str) -> str:
        kind = self._kinds.get(path)
        if kind is None:
            try:
                match = resolve(path)
            except Resolver404:
                kind = _NOT_COLLECT
            else:
                kind = match.kwargs.get("kind", _NOT_COLLECT) if match.func is views.collect else _NOT_COLLECT
            if len(self._kinds) < _MAX_ROUTES:  # only real routes repeat; do not let random paths grow it
                self._kinds[path] = kind
        return kind

    def __call__(self, request):
        path = request.path_info
        if path.startswith(PREFIX):
            kind = self._kind(path)
            if kind:
                return views.collect(request, kind=kind)
        return self.get_response(request)
