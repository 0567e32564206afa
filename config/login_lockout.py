"""What a locked-out login gets (django-axes calls this): the login page, a clear message, 429 and Retry-After.

Used for the site login and the admin login alike. The form is shown unbound: binding it would authenticate
again and count one more failure.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render


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
