"""Read tokens of the profile API (managers only): create (scopes, expiry; shown once), list, rotate, revoke."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cdp.forms.profiles import ReadTokenForm
from cdp.models import ReadToken
from cdp.services.read_tokens import (
    read_token_create,
    read_token_pending_uses,
    read_token_revoke,
    read_token_rotate,
)
from cdp.views.access import cdp_manager_required
from cdp.views.nav import nav


def _page(request, form, created=None):
    tokens = list(ReadToken.objects.order_by("-created_at"))
    pending = read_token_pending_uses(tokens)
    for t in tokens:
        t.uses = t.use_count + pending.get(t.pk, 0)
    return render(request, "cdp/profiles/tokens.html", {
        "form": form, "created": created, "tokens": tokens, **nav(request, "tokens")})


@cdp_manager_required
def token_list(request):
    form = ReadTokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        token, raw = read_token_create(name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                                       expires_at=form.expires_at(),
                                       requests_per_minute=form.cleaned_data["requests_per_minute"])
        created = {"token": token, "raw": raw}
        form = ReadTokenForm()
    return _page(request, form, created)


@require_POST
@cdp_manager_required
def token_rotate_view(request, pk: int):
    token = get_object_or_404(ReadToken, pk=pk, revoked_at__isnull=True)
    token, raw = read_token_rotate(token=token)
    return _page(request, ReadTokenForm(), {"token": token, "raw": raw, "rotated": True})


@require_POST
@cdp_manager_required
def token_revoke_view(request, pk: int):
    token = get_object_or_404(ReadToken, pk=pk)
    read_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("cdp:read-tokens")
