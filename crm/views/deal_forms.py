"""Forms of the sales pages. They describe input; the services apply the rules."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import AbstractBaseUser

from crm.models import Activity, Deal, Pipeline, Stage
from crm.selectors.assignment import assignable_owners, assignable_teams, owner_choices
from crm.selectors.companies import companies_visible_to
from crm.selectors.contacts import contacts_visible_to
from crm.selectors.deals import deal_owners

CHOICE_LIMIT = 200


def _user_label(user) -> str:
    return user.get_full_name() or user.username


class _OwnedChoices:
    """Company/contact choices: validated against everything the user may see, but only a short list rendered."""

    def limit_choices(self, name: str, queryset, selected_ids: list[int]) -> None:
        field = self.fields[name]
        shown = list(queryset.order_by("-created_at")[:CHOICE_LIMIT])
        seen = {obj.pk for obj in shown}
        shown += [obj for obj in queryset.filter(pk__in=selected_ids) if obj.pk not in seen]
        choices = [(obj.pk, str(obj)) for obj in sorted(shown, key=lambda o: str(o).lower())]
        field.widget.choices = ([("", "—")] if not isinstance(field, forms.ModelMultipleChoiceField) else []) + choices


class DealForm(_OwnedChoices, forms.Form):
    name = forms.CharField(max_length=200)
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.order_by("-is_default", "order", "name"))
    stage = forms.ModelChoiceField(queryset=Stage.objects.select_related("pipeline").order_by("pipeline", "order"),
                                   required=False, empty_label="First stage of the pipeline")
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, initial=0)
    currency = forms.CharField(max_length=3, initial="EUR", help_text="ISO code, e.g. EUR, USD.")
    probability = forms.IntegerField(min_value=0, max_value=100, required=False,
                                     help_text="Empty: the stage's default.")
    expected_close_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="Me")
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="No team")
    company = forms.ModelChoiceField(queryset=None, required=False)
    contacts = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                              widget=forms.SelectMultiple(attrs={"size": 5}))

    def __init__(self, *args, user: AbstractBaseUser, deal: Deal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name} · {s.name} ({s.probability}%)"
        self.fields["owner"].queryset = assignable_owners(user)
        self.fields["owner"].label_from_instance = _user_label
        self.fields["team"].queryset = assignable_teams(user)
        companies = companies_visible_to(user)
        contacts = contacts_visible_to(user)
        self.fields["company"].queryset = companies
        self.fields["contacts"].queryset = contacts
        company_id = self.data.get("company") or self.initial.get("company") or (deal and deal.company_id)
        contact_ids = self.data.getlist("contacts") if hasattr(self.data, "getlist") else []
        contact_ids += list(self.initial.get("contacts") or [])
        if deal is not None:
            contact_ids += [c.pk for c in deal.contacts.all()]
        self.limit_choices("company", companies, [int(company_id)] if str(company_id or "").isdigit() else [])
        self.limit_choices("contacts", contacts, [int(i) for i in contact_ids if str(i).isdigit()])

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

def deal_initial(deal: Deal) -> dict:
    return {
        "name": deal.name, "pipeline": deal.pipeline_id, "stage": deal.stage_id, "amount": deal.amount,
        "currency": deal.currency, "probability": deal.probability if deal.probability_overridden else None,
        "expected_close_date": deal.expected_close_date, "owner": deal.owner_id, "team": deal.team_id,
        "company": deal.company_id, "contacts": [c.pk for c in deal.contacts.all()],
    }


class StageChangeForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.none())
    lost_reason = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, deal: Deal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = deal.pipeline.stages.order_by("order")


class LostForm(forms.Form):
    lost_reason = forms.CharField(max_length=500, label="Why was it lost?")


class DealFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.order_by("-is_default", "order"), required=False,
                                      empty_label="All pipelines")
    owner = forms.ModelChoiceField(queryset=None, required=False, empty_label="Everyone")
    status = forms.ChoiceField(choices=[("", "Any status"), *Deal.Status.choices], required=False)
    close_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    close_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    stage = forms.ModelChoiceField(queryset=Stage.objects.all(), required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = deal_owners()
        self.fields["owner"].label_from_instance = _user_label


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=Activity.Kind.choices, initial=Activity.Kind.NOTE)
    subject = forms.CharField(max_length=200)
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    occurred_at = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      help_text="Empty: now.")
    call_outcome = forms.ChoiceField(choices=[("", "—"), *Activity.CallOutcome.choices], required=False)
    call_duration_minutes = forms.IntegerField(min_value=0, max_value=24 * 60, required=False,
                                               label="Duration (minutes)")
    meeting_start = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    meeting_end = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    due_at = forms.DateTimeField(required=False, label="Due",
                                 widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    assignee = forms.ModelChoiceField(queryset=None, required=False, help_text="Empty: you.")
    reminder_at = forms.DateTimeField(required=False, label="Remind me at",
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput)
    company = forms.IntegerField(required=False, widget=forms.HiddenInput)
    deal = forms.IntegerField(required=False, widget=forms.HiddenInput)

    KIND_ONLY = {"call_outcome": "call", "call_duration_minutes": "call", "meeting_start": "meeting",
                 "meeting_end": "meeting", "due_at": "task", "assignee": "task", "reminder_at": "task"}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Whom ``user`` may give a task to (the service checks the same: crm.services.activities.assignee_check).
        self.fields["assignee"].queryset = owner_choices(user, current_id=user.pk)
        self.fields["assignee"].label_from_instance = _user_label

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        for name, only in self.KIND_ONLY.items():
            if kind != only:
                data[name] = None if name not in {"call_outcome"} else ""
        return data
