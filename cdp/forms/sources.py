"""Forms of the CDP source pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms

from cdp.models import Source
from cdp.services.email_webhooks import sendgrid_public_key_is_valid


def _parse_origins(text: str) -> list[str]:
    origins = []
    for line in text.replace(",", "\n").splitlines():
        origin = line.strip().rstrip("/")
        if not origin:
            continue
        if origin != "*":
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise forms.ValidationError(f"“{origin}” is not an origin like https://shop.example.com")
        origins.append(origin)
    return list(dict.fromkeys(origins))


class OriginsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example.com"})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        return _parse_origins(super().to_python(value) or "")


class SourceSettingsForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    allowed_origins = OriginsField(required=False, help_text="One browser origin per line (or * for any).")
    rate_limit_per_second = forms.IntegerField(required=False, min_value=1, max_value=1_000_000,
                                               help_text="Events per second for this write key; empty: no limit.")
    sendgrid_public_key = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="SendGrid Event Webhook verification key (base64, as SendGrid shows it). Empty: keep.")
    mailgun_signing_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                          help_text="Mailgun HTTP webhook signing key. Empty: keep.")

    def clean_sendgrid_public_key(self):
        value = self.cleaned_data["sendgrid_public_key"].strip()
        if "BEGIN" not in value:  # base64 pasted with line breaks
            value = "".join(value.split())
        if value and not sendgrid_public_key_is_valid(value):
            raise forms.ValidationError("This is not an elliptic-curve public key (base64 DER or PEM).")
        return value

    def clean_mailgun_signing_key(self):
        return self.cleaned_data["mailgun_signing_key"].strip()


class SourceCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=[c for c in Source.Kind.choices if c[0] != Source.Kind.CRM])
    allowed_origins = OriginsField(required=False, help_text="Website sources: origins allowed to send events.")
    rate_limit_per_second = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Source.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError("A source with this name exists already.")
        return name
