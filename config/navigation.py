"""The one place that decides which navigation links a user sees: each link names the permission check its
page applies (the same functions the views call), so no role is offered a page that answers 403.

Templates read ``nav.main``, ``nav.crm``, ``nav.cdp`` and ``nav.segments`` (context processor
:func:`navigation`); every list is built lazily, once per request, and only when a template asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse

from cdp.selectors.source_pages import can_manage_sources, can_view_sources
from crm.selectors.assignment import can_create_records
from crm.selectors.tickets import my_open_ticket_count
from crm.selectors.visibility import is_admin
from segments.selectors.access import can_build_segments


def _signed_in(user: AbstractBaseUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    may_open: Callable[[AbstractBaseUser], bool] = _signed_in
    section: str = ""  # what the page's template calls its section (aria-current)
    prefix: str = ""  # the link is current for paths under it (else: for its own page)
    testid: str = ""
    badge: Callable[[AbstractBaseUser], int] | None = None  # a count shown beside the link (0: none)


MAIN = (
    NavLink("Dashboard", "home"),
    NavLink("CRM", "crm-index", prefix="/crm/"),
    NavLink("Support", "support-index", prefix="/support/", badge=my_open_ticket_count),
    NavLink("CDP", "cdp:index", can_view_sources, prefix="/cdp/"),
    NavLink("Segments", "segments:index", can_build_segments, prefix="/segments/"),
    NavLink("Reports", "reports:home", prefix="/reports/"),
)
CRM = (
    NavLink("Contacts", "contact-list", testid="nav-contacts"),
    NavLink("Companies", "company-list", testid="nav-companies"),
    NavLink("Deals", "deal-list", testid="nav-deals"),
    NavLink("Board", "deal-board", testid="nav-board"),
    NavLink("Forecast", "deal-forecast", testid="nav-forecast"),
    NavLink("My work", "my-work", testid="nav-my-work"),
    NavLink("Import", "import-list", can_create_records, testid="nav-import"),
    NavLink("Duplicates", "duplicate-list", testid="nav-duplicates"),
)
CDP = (
    NavLink("Sources", "cdp:index", can_view_sources, section="sources"),
    NavLink("Imports", "cdp:imports", can_manage_sources, section="imports"),
    NavLink("Profiles", "cdp:profile-list", can_view_sources, section="profiles"),
    NavLink("Computed traits", "cdp:computed-traits", can_view_sources, section="computed"),
    NavLink("Read tokens", "cdp:read-tokens", can_manage_sources, section="tokens"),
)
SEGMENTS = (
    NavLink("Lead scoring", "segments:scoring", can_build_segments, testid="scoring-link"),
    NavLink("Dead letters", "segments:dead-letters", is_admin, testid="dead-letters-link"),
)


@dataclass(frozen=True)
class ShownLink:
    label: str
    url: str
    section: str
    current: bool
    testid: str
    badge: int = 0


def nav_links(links: tuple[NavLink, ...], *, user: AbstractBaseUser, path: str = "",
              url_name: str = "") -> list[ShownLink]:
    """The links of ``links`` that ``user`` may open, with the one for ``path`` / ``url_name`` marked current."""
    shown = []
    for link in links:
        if not link.may_open(user):
            continue
        current = path.startswith(link.prefix) if link.prefix else url_name == link.url_name.split(":")[-1]
        shown.append(ShownLink(link.label, reverse(link.url_name), link.section, current, link.testid,
                               link.badge(user) if link.badge else 0))
    return shown


class Navigation:
    def __init__(self, request):
        self._request = request

    def _links(self, links: tuple[NavLink, ...]) -> list[ShownLink]:
        match = getattr(self._request, "resolver_match", None)
        return nav_links(links, user=self._request.user, path=self._request.path,
                         url_name=match.url_name if match else "")

    @cached_property
    def main(self) -> list[ShownLink]:
        return self._links(MAIN)

    @cached_property
    def crm(self) -> list[ShownLink]:
        return self._links(CRM)

    @cached_property
    def cdp(self) -> list[ShownLink]:
        return self._links(CDP)

    @cached_property
    def segments(self) -> list[ShownLink]:
        return self._links(SEGMENTS)


def navigation(request) -> dict:
    """Context processor: ``nav`` (see the module docstring)."""
    return {"nav": Navigation(request)}
