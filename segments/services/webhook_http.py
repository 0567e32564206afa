"""Outbound webhook HTTP: SSRF guard, IP pinning, signing, timeouts and a response size cap.

The host of every URL (the first and each redirect's) is resolved once; every address it resolves to must be a
public one (not private, loopback, link-local, cloud metadata, multicast, reserved or unspecified) unless the
host is in ``SEGMENTS_WEBHOOK_ALLOWED_HOSTS``. The connection then goes to the checked address (the Host header
and TLS server name stay the URL's host), so a second DNS answer (rebinding) cannot send it elsewhere.

Signature (README: "Verifying webhook signatures"): ``hex(HMAC-SHA256(secret, f"{timestamp}.".encode() + body))``
in ``X-Webhook-Signature: v1=<hex>`` (space-separated when a rotated secret is still honoured), the Unix
timestamp in ``X-Webhook-Timestamp`` and the delivery id in ``X-Webhook-Id``.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings

REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "unified-crm-cdp-webhooks/1"


class Refused(Exception):
    """The URL may not be called (a non-public address, a bad scheme): a setting, not a passing failure."""


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    ip: str
    path: str


@dataclass
class Result:
    status: int | None = None
    elapsed_ms: int = 0
    error: str = ""
    retry_after: float | None = None
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Network errors, timeouts, 408, 429 and 5xx are worth another try; other 4xx, redirects that were not
        followed and refused addresses are not."""
        if self.refused:
            return False
        if self.status is None:
            return True
        return self.status in (408, 429) or self.status >= 500


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    return " ".join(f"v1={sign(s, timestamp, body)}" for s in secrets if s)


def _allowed_hosts() -> set[str]:
    return {h.lower().strip("[]") for h in getattr(settings, "SEGMENTS_WEBHOOK_ALLOWED_HOSTS", [])}


def address_allowed(ip: str) -> bool:
    """Whether ``ip`` is a public unicast address (IPv4-mapped IPv6 addresses are judged as IPv4)."""
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not (addr.is_multicast or addr.is_private or addr.is_loopback or addr.is_link_local
                                   or addr.is_reserved or addr.is_unspecified)


def url_problem(url: str) -> str:
    """Why ``url`` can never be a webhook target (checked on save, without DNS), or ""."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "Enter a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Enter an http:// or https:// URL."
    if parts.username or parts.password:
        return "Put no user name or password in the URL."
    host = parts.hostname.lower()
    if host in _allowed_hosts():
        return ""
    try:
        if not address_allowed(host):
            return f"{host} is a private, loopback, link-local or reserved address; webhooks go to public addresses."
    except ValueError:
        pass  # a name: checked after resolution, on every call
    return ""


def _checked_address(host: str, port: int) -> str:
    """Resolve ``host`` and check every address of the answer; returns the one to connect to."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    ips = list(dict.fromkeys(info[4][0] for info in infos))
    if not ips:
        raise OSError(f"{host} has no address")
    if host not in _allowed_hosts():
        bad = [ip for ip in ips if not address_allowed(ip)]
        if bad:
            raise Refused(f"{host} resolves to {bad[0]}, a non-public address.")
    return ips[0]


def resolve(url: str, *, resolved: dict | None = None) -> Target:
    """Check ``url`` and resolve its host to the address to connect to. Raises Refused, or OSError when the name
    does not resolve (a passing failure). ``resolved`` keeps the outcome of each (host, port) for the caller's
    next calls (a batch of deliveries): an address in it was checked when it was resolved."""
    problem = url_problem(url)
    if problem:
        raise Refused(problem)
    parts = urlsplit(url)
    host = parts.hostname.lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    key = (host, port)
    outcome = resolved.get(key) if resolved is not None else None
    if outcome is None:
        try:
            outcome = _checked_address(host, port)
        except (Refused, OSError, UnicodeError) as exc:
            outcome = exc
        if resolved is not None:
            resolved[key] = outcome
    if isinstance(outcome, BaseException):
        raise outcome
    ip = outcome
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=host, port=port, ip=ip, path=path)


def resolve_ahead(urls, *, resolved: dict) -> None:
    """Resolve (and check) the hosts of ``urls`` into ``resolved`` before a batch's threads start, so each host is
    asked once; the outcome, refusals included, is kept for the calls of the batch."""
    for url in dict.fromkeys(urls):
        try:
            resolve(url, resolved=resolved)
        except (Refused, OSError, UnicodeError, ValueError):
            pass


_pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
_pools_pid = os.getpid()
_pools_lock = threading.Lock()


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    """A keep-alive pool per (scheme, address, port, host name): the connection goes to the checked address."""
    global _pools_pid  # noqa: PLW0603
    key = (target.scheme, target.ip, target.port, target.host)
    with _pools_lock:
        if _pools_pid != os.getpid():  # a forked worker: the parent's sockets are not ours
            _pools.clear()
            _pools_pid = os.getpid()
        pool = _pools.get(key)
        if pool is None:
            timeout = urllib3.Timeout(connect=settings.SEGMENTS_WEBHOOK_CONNECT_TIMEOUT,
                                      read=settings.SEGMENTS_WEBHOOK_READ_TIMEOUT)
            common = {"timeout": timeout, "maxsize": 32, "block": False, "retries": False}
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(target.ip, target.port, server_hostname=target.host,
                                                   assert_hostname=target.host, cert_reqs="CERT_REQUIRED", **common)
            else:
                pool = urllib3.HTTPConnectionPool(target.ip, target.port, **common)
            _pools[key] = pool
        return pool


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _read_capped(response, cap: int) -> bytes:
    data = b""
    while len(data) <= cap:
        chunk = response.read(min(65536, cap + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def post(url: str, *, body: bytes, headers: dict[str, str], resolved: dict | None = None) -> Result:
    """POST ``body`` to ``url`` (following up to SEGMENTS_WEBHOOK_MAX_REDIRECTS redirects, each checked like the
    first URL). Never raises for the call's outcome: the Result says what happened. ``resolved``: see resolve."""
    started = time.monotonic()
    cap = settings.SEGMENTS_WEBHOOK_MAX_RESPONSE_BYTES
    result = Result()
    for _hop in range(settings.SEGMENTS_WEBHOOK_MAX_REDIRECTS + 1):
        try:
            target = resolve(url, resolved=resolved)
        except Refused as exc:
            return Result(error=f"Refused: {exc}", refused=True, elapsed_ms=int((time.monotonic() - started) * 1000))
        except (OSError, UnicodeError) as exc:
            return Result(error=f"DNS: {exc}", elapsed_ms=int((time.monotonic() - started) * 1000))
        default_port = 443 if target.scheme == "https" else 80
        host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
        if ":" in target.host and target.port == default_port:
            host_header = f"[{target.host}]"
        request_headers = {"Host": host_header, "User-Agent": USER_AGENT, "Content-Type": "application/json",
                           **headers}
        try:
            response = _pool(target).urlopen("POST", target.path, body=body, headers=request_headers,
                                             redirect=False, retries=False, preload_content=False,
                                             assert_same_host=False)
        except urllib3.exceptions.HTTPError as exc:
            timed_out = isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(
                exc, urllib3.exceptions.NewConnectionError)  # (a refused connection subclasses ConnectTimeoutError)
            kind = "Timeout" if timed_out else "Network error"
            return Result(error=f"{kind}: {exc}", elapsed_ms=int((time.monotonic() - started) * 1000))
        try:
            data = _read_capped(response, cap)
        except urllib3.exceptions.HTTPError as exc:
            response.release_conn()
            return Result(status=None, error=f"Reading the response failed: {exc}",
                          elapsed_ms=int((time.monotonic() - started) * 1000))
        too_big = len(data) > cap
        if too_big:
            response.close()  # the rest is not read: this connection cannot be reused
        else:
            response.release_conn()
        result = Result(status=response.status, elapsed_ms=int((time.monotonic() - started) * 1000),
                        retry_after=_retry_after(response.headers.get("Retry-After")))
        if response.status in REDIRECTS and response.headers.get("Location"):
            url = urljoin(url, response.headers["Location"])
            continue
        if not result.ok:
            snippet = data[:300].decode("utf-8", "replace")
            result.error = f"HTTP {response.status}" + (f": {snippet}" if snippet else "")
        elif too_big:
            result.error = f"Response larger than {cap} bytes: not read past that."
        return result
    result.error = f"More than {settings.SEGMENTS_WEBHOOK_MAX_REDIRECTS} redirects"
    return result
