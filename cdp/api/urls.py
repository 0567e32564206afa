from django.urls import path

from cdp.api import views

app_name = "collect"

_KINDS = {
    "identify": "identify",
    "track": "track",
    "page": "page",
    "screen": "screen",
    "group": "group",
    "alias": "alias",
    "batch": "batch",
    "import": "batch",
}
_SHORT = {"i": "identify", "t": "track", "p": "page", "s": "screen", "g": "group", "a": "alias", "b": "batch"}

urlpatterns = [path(f"{p}", views.collect, {"kind": kind}, name=p) for p, kind in (_KINDS | _SHORT).items()]
urlpatterns += [path(f"{p}/", views.collect, {"kind": kind}) for p, kind in _KINDS.items()]
