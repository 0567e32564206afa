"""The funnel builder's form (page, exports and API): 2 to 5 ordered steps, a conversion window, a breakdown."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from reports.filters import ReportFilterForm
from reports.selectors.funnel import MAX_STEPS, MIN_STEPS, FunnelQuery

WINDOW_UNITS = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}
MAX_WINDOW = timedelta(days=90)


class FunnelForm(ReportFilterForm):
    step_1 = forms.CharField(max_length=200, required=False, label="Step 1")
    step_2 = forms.CharField(max_length=200, required=False, label="Step 2")
    step_3 = forms.CharField(max_length=200, required=False, label="Step 3")
    step_4 = forms.CharField(max_length=200, required=False, label="Step 4")
    step_5 = forms.CharField(max_length=200, required=False, label="Step 5")
    window = forms.IntegerField(min_value=1, initial=1, required=False, label="Conversion window")
    window_unit = forms.ChoiceField(choices=[(k, k) for k in WINDOW_UNITS], required=False, initial="days",
                                    label="Window unit")
    breakdown = forms.CharField(max_length=100, required=False, label="Breakdown by property")

    def clean(self):
        data = super().clean()
        steps = [(data.get(f"step_{i}") or "").strip() for i in range(1, MAX_STEPS + 1)]
        if "" in steps[:MIN_STEPS] or any(steps[i] and not steps[i - 1] for i in range(1, MAX_STEPS)):
            raise forms.ValidationError(f"Name {MIN_STEPS} to {MAX_STEPS} steps, in order, without gaps.")
        window = (data.get("window") or 1) * WINDOW_UNITS[data.get("window_unit") or "days"]
        if window > MAX_WINDOW:
            raise forms.ValidationError("The conversion window may be at most 90 days.")
        data["steps"], data["window_delta"] = tuple(s for s in steps if s), window
        return data

    def query(self) -> FunnelQuery:
        data = self.cleaned_data
        return FunnelQuery(steps=data["steps"], window=data["window_delta"], filters=self.filters(),
                           breakdown=(data.get("breakdown") or "").strip())

    def as_query(self) -> dict[str, str]:
        data = self.cleaned_data
        out = self.filters().as_query()
        out.pop("currency", None)
        out.update({f"step_{i}": s for i, s in enumerate(data["steps"], 1)})
        out.update({"window": str(data.get("window") or 1), "window_unit": data.get("window_unit") or "days"})
        if data.get("breakdown"):
            out["breakdown"] = data["breakdown"].strip()
        return out
