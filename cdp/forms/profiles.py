from __future__ import annotations

import json

from django import forms

from cdp.models import ComputedTrait


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
