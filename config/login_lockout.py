"""Login lockouts beyond django-axes' per username+address one, and what a locked-out login gets.

django-axes locks one username from one address out after LOGIN_FAILURE_LIMIT failures. ``AddressLockoutBackend``
adds the address as a whole: after LOGIN_ADDRESS_FAILURE_LIMIT failures from one address over any usernames within
LOGIN_LOCKOUT_MINUTES (one password tried against many accounts), every login from it waits. The limit is high
enough for an office behind one address.

``lockout_response`` (django-axes calls it) answers either lockout with the login page, a clear message, 429 and
Retry-After; for the site login and the admin login alike. The form is shown unbound: binding it would
authenticate again and count one more failure.
"""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone

from config.client_ip import client_ip


def address_failures(address: str) -> int:
    """Failed logins from ``address`` over all usernames within the lockout period (django-axes' records)."""
    since = timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    total = (AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since)
             .aggregate(total=Sum("failures_since_start"))["total"])
    return total or 0


class AddressLockoutBackend:
    """An authentication backend that authenticates nobody: it refuses every login from an address that has
    failed LOGIN_ADDRESS_FAILURE_LIMIT times lately (listed before the backends that do authenticate)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        address = client_ip(request)
        if address and address_failures(address) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            request.axes_locked_out = True  # the axes middleware answers with lockout_response
            raise PermissionDenied("Too many failed logins from this address.")
        return None

    # No get_user(): Django's test client force_login() and session loading pick the first backend that has one,
    # and this backend never holds a session.


def lockout_response(request, original_response=None, credentials=None):
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    form = AuthenticationForm(request, initial={"username": username[:150]})
    response = render(request, "registration/login.html", {
        "form": form, "locked_out": True, "lockout_minutes": minutes,
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
