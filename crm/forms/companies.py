from __future__ import annotations

from django import forms

from crm.forms.custom_fields import add_custom_fields
from crm.models import Company, CustomFieldDefinition
from crm.selectors.assignment import owner_choices, team_choices

ADDRESS_FIELDS = ["street", "city", "region", "postal_code", "country"]


class CompanyForm(forms.Form):
    name = forms.CharField(max_length=200)
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. acme.com")
    industry = forms.CharField(max_length=100, required=False)
    size = forms.ChoiceField(choices=[("", "—")] + list(Company.Size.choices), required=False)
    street = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.CharField(max_length=2, required=False, help_text="Two-letter code, e.g. DE.")
    tags = forms.CharField(required=False, help_text="Comma separated.")
    owner = forms.ModelChoiceField(queryset=None, required=False)
    team = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, user, definitions: list[CustomFieldDefinition], company: Company | None = None,
                 **kwargs):
        if company is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{name: getattr(company, name) for name in
                   ["name", "domain", "industry", "size", *ADDRESS_FIELDS]},
                "tags": ", ".join(company.tags), "owner": company.owner_id, "team": company.team_id,
            }
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_choices(user, current_id=company.owner_id if company else None)
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        self.fields["team"].queryset = team_choices(user, current_id=company.team_id if company else None)
        add_custom_fields(self, definitions, initial=company.custom if company else None)


class CompanyListForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    owner = forms.CharField(required=False)
    industry = forms.CharField(required=False)
    size = forms.ChoiceField(choices=[("", "Any size")] + list(Company.Size.choices), required=False)
    tag = forms.CharField(required=False)
    sort = forms.CharField(required=False)

    def __init__(self, *args, definitions: list[CustomFieldDefinition], **kwargs):
        super().__init__(*args, **kwargs)
        add_custom_fields(self, definitions, for_filter=True)
