from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.utils import timezone

from cdp.models import ComputedTrait, ReadTokenScope


class ComputedTraitForm(forms.ModelForm):
    filters = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text='Property equality filters as JSON, e.g. {"plan": "pro"}.',
    )

    class Meta:
        model = ComputedTrait
        fields = ["name", "key", "aggregate", "event_type", "event_name", "property", "filters", "window_days",
                  "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event_type"] = forms.ChoiceField(
            required=False, choices=[("", "Any"), ("track", "track"), ("page", "page"), ("screen", "screen"),
                                     ("identify", "identify"), ("group", "group")])
        if self.instance.pk:
            self.fields["key"].disabled = True
            self.initial["filters"] = json.dumps(self.instance.filters) if self.instance.filters else ""

    def clean_filters(self):
        raw = (self.cleaned_data.get("filters") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg}.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Use an object such as {"plan": "pro"}.')
        return value

    def clean(self):
        data = super().clean()
        if data.get("aggregate") in ComputedTrait.NEEDS_PROPERTY and not (data.get("property") or "").strip():
            self.add_error("property", "This aggregate needs the property to aggregate.")
        if data.get("window_days") == 0:
            self.add_error("window_days", "Leave empty for all time, or give at least one day.")
        return data


class ReadTokenForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="Where the token is used, e.g. “website personalization”.")
    scopes = forms.MultipleChoiceField(
        choices=ReadTokenScope.choices, initial=[ReadTokenScope.IDENTIFIERS.value], required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the token may read (none ticked: identifiers). Grant traits or events only where personal "
                  "data is needed.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expires after (days)",
        help_text="Empty: never expires.")
    requests_per_minute = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, label="Requests per minute",
        help_text="Empty: the default limit (CDP_READ_TOKEN_REQUESTS_PER_MINUTE).")

    def clean_scopes(self):
        return self.cleaned_data.get("scopes") or [ReadTokenScope.IDENTIFIERS.value]

    def expires_at(self):
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None
