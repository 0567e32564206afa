"""The client's address of a request, trusting X-Forwarded-For only when it comes from our own proxies.

``TRUSTED_PROXIES`` lists the addresses (or networks, CIDR) of the load balancers and reverse proxies in front
of the app. A request whose direct peer (``REMOTE_ADDR``) is one of them carries the client address in
X-Forwarded-For: the right-most hop that is not itself a trusted proxy. Any other request's header is ignored,
since any client can send one: throttles and lockouts keyed on it would be trivial to dodge.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str:
    """The client address of ``request`` (empty when the server did not give one)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(_address(remote), networks):
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return remote  # a garbled header: the proxy is the last address we know to be true
        if not _trusted(address, networks):
            return str(address)
    return str(_address(hops[0])) if hops else remote
