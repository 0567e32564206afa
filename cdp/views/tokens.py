"""Read tokens of the profile API (managers only): create (shown once), list, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cdp.forms.profiles import ReadTokenForm
from cdp.models import ReadToken
from cdp.services.read_tokens import read_token_create, read_token_revoke
from cdp.views.access import cdp_manager_required
from cdp.views.nav import nav


@cdp_manager_required
def token_list(request):
    form = ReadTokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        token, raw = read_token_create(name=form.cleaned_data["name"])
        created = {"token": token, "raw": raw}
        form = ReadTokenForm()
    return render(request, "cdp/profiles/tokens.html", {
        "form": form, "created": created, "tokens": ReadToken.objects.order_by("-created_at"),
        **nav(request, "tokens")})


@require_POST
@cdp_manager_required
def token_revoke_view(request, pk: int):
    token = get_object_or_404(ReadToken, pk=pk)
    read_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("cdp:read-tokens")
