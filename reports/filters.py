"""The filters every report takes (pages, exports and the API parse them with the same form)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.models import Pipeline, Team
from crm.models.deals import currency_validator

DEFAULT_MONTHS = 6
MAX_DAYS = 3 * 366


def default_start(today: date) -> date:
    """The first day of the month ``DEFAULT_MONTHS - 1`` months before ``today``'s month."""
    index = today.year * 12 + today.month - 1 - (DEFAULT_MONTHS - 1)
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class ReportFilters:
    """A period of whole days [start, end] in the site's time zone, and optional narrowing."""

    start: date
    end: date
    pipeline_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    currency: str = "EUR"

    @property
    def tz(self) -> str:
        return timezone.get_current_timezone_name()

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_before(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def as_query(self) -> dict[str, str]:
        out = {"start": self.start.isoformat(), "end": self.end.isoformat(), "currency": self.currency}
        for key, value in (("pipeline", self.pipeline_id), ("owner", self.owner_id), ("team", self.team_id)):
            if value:
                out[key] = str(value)
        return out


class ReportFilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.order_by("order", "name"), required=False,
                                      empty_label="All pipelines")
    owner = forms.ModelChoiceField(queryset=get_user_model().objects.filter(is_active=True)
                                   .order_by("first_name", "username"), required=False, empty_label="Everyone")
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="All teams")
    currency = forms.CharField(required=False, max_length=3, validators=[currency_validator])

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.get_username()

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        start, end = data.get("start") or default_start(today), data.get("end") or today
        if start > end:
            raise forms.ValidationError("The period must start on or before its end.")
        if (end - start).days > MAX_DAYS:
            raise forms.ValidationError("The period may span at most three years.")
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> ReportFilters:
        """The parsed filters; the form must be valid."""
        data = self.cleaned_data
        return ReportFilters(
            start=data["start"], end=data["end"],
            pipeline_id=data["pipeline"].pk if data.get("pipeline") else None,
            owner_id=data["owner"].pk if data.get("owner") else None,
            team_id=data["team"].pk if data.get("team") else None,
            currency=data.get("currency") or "EUR",
        )
