"""Public pages (no login): the ticket web form and the CSAT rating page."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect

from crm.forms.tickets import CsatForm, WebTicketForm
from crm.services.tickets_csat import csat_submit, csat_ticket_for_token
from crm.services.tickets_webform import webform_allow, webform_ticket_create


def _client(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


@csrf_protect
def web_form(request):
    form = WebTicketForm(request.POST or None)
    if request.method == "POST":
        if not webform_allow(client=_client(request)):
            return render(request, "crm/support/public_form.html",
                          {"form": form, "error": "Too many requests from your address. Please try again later."},
                          status=429)
        if form.is_valid():
            data = form.cleaned_data
            if data["website"]:  # honeypot filled in: a bot. Answer as if it worked, create nothing.
                return render(request, "crm/support/public_thanks.html", {"number": None})
            try:
                ticket = webform_ticket_create(name=data["name"], email=data["email"], subject=data["subject"],
                                               message=data["message"])
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
            else:
                return render(request, "crm/support/public_thanks.html", {"number": ticket.number})
    return render(request, "crm/support/public_form.html", {"form": form})


@csrf_protect
def csat_view(request, token: str):
    try:
        ticket = csat_ticket_for_token(token)
    except ValidationError as exc:
        return render(request, "crm/support/csat.html", {"error": " ".join(exc.messages)}, status=400)
    form = CsatForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            csat_submit(token=token, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"])
        except ValidationError as exc:
            return render(request, "crm/support/csat.html", {"error": " ".join(exc.messages)}, status=400)
        return render(request, "crm/support/csat.html", {"done": True})
    return render(request, "crm/support/csat.html", {"form": form, "ticket": ticket})
