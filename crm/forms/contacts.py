from __future__ import annotations

import re

from django import forms

from crm.forms.custom_fields import add_custom_fields
from crm.models import Company, Contact, ContactPhone, CustomFieldDefinition
from crm.selectors.assignment import assignable_owners, owner_choices, team_choices
from crm.selectors.companies import companies_visible_to

_PHONE_KIND = re.compile(r"^(?P<number>.*?)\s*\((?P<kind>mobile|work|home|other)\)\s*$", re.IGNORECASE)


def split_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\n,;]+", text or "") if part.strip()]


def company_label(company: Company) -> str:
    return f"{company.name} ({company.domain})" if company.domain else company.name


class CompanyLookupField(forms.CharField):
    """A company typed by name (``Acme (acme.com)`` disambiguates), resolved among companies the user sees."""

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"list": "company-options", "autocomplete": "off"}))
        super().__init__(*args, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        qs = companies_visible_to(self.user)
        match = re.match(r"^(?P<name>.*)\((?P<domain>[^()]+)\)\s*$", text)
        if match:
            found = qs.filter(domain=match["domain"].strip().lower()).first()
            if found:
                return found
        candidates = list(qs.filter(name__iexact=text)[:2])
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise forms.ValidationError("Several companies have this name; pick one from the list.")
        raise forms.ValidationError(f"No company named “{text}”. Create it first or pick one from the list.")

    def prepare_value(self, value):
        if isinstance(value, Company):
            return company_label(value)
        if isinstance(value, int):
            company = Company.objects.filter(pk=value).first()
            return company_label(company) if company else ""
        return value


class ContactForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    title = forms.CharField(max_length=150, required=False)
    emails = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="One per line; the first is the primary email.")
    phones = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="One per line in international format, e.g. +49 30 1234567 (work).")
    company = forms.CharField(required=False)
    lifecycle_stage = forms.ChoiceField(choices=Contact.Lifecycle.choices, initial=Contact.Lifecycle.LEAD)
    lead_source = forms.CharField(max_length=100, required=False)
    tags = forms.CharField(required=False, help_text="Comma separated.")
    owner = forms.ModelChoiceField(queryset=None, required=False)
    team = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, user, definitions: list[CustomFieldDefinition], contact: Contact | None = None,
                 **kwargs):
        if contact is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "first_name": contact.first_name, "last_name": contact.last_name, "title": contact.title,
                "emails": "\n".join(e.email for e in contact.emails.all()),
                "phones": "\n".join(f"{p.number} ({p.kind})" for p in contact.phones.all()),
                "company": contact.company, "lifecycle_stage": contact.lifecycle_stage,
                "lead_source": contact.lead_source, "tags": ", ".join(contact.tags),
                "owner": contact.owner_id, "team": contact.team_id,
            }
        super().__init__(*args, **kwargs)
        self.fields["company"] = CompanyLookupField(user=user, label="Company")
        self.fields["company"].initial = self.initial.get("company")
        self.fields["owner"].queryset = owner_choices(user, current_id=contact.owner_id if contact else None)
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        self.fields["team"].queryset = team_choices(user, current_id=contact.team_id if contact else None)
        add_custom_fields(self, definitions, initial=contact.custom if contact else None)

    def phone_inputs(self) -> list[tuple[str, str]]:
        result = []
        for line in split_list(self.cleaned_data.get("phones", "")):
            match = _PHONE_KIND.match(line)
            result.append((match["number"], match["kind"].lower()) if match else (line, ContactPhone.Kind.MOBILE))
        return result


class ContactListForm(forms.Form):
    """The list page's query: search, filters, sorting (also the saved views' query string)."""

    q = forms.CharField(required=False, label="Search")
    owner = forms.CharField(required=False)
    lifecycle = forms.ChoiceField(choices=[("", "Any stage")] + list(Contact.Lifecycle.choices), required=False)
    tag = forms.CharField(required=False)
    company = forms.IntegerField(required=False, widget=forms.HiddenInput)
    sort = forms.CharField(required=False)
    score_min = forms.DecimalField(required=False, label="Score at least", max_digits=12, decimal_places=2)

    def __init__(self, *args, definitions: list[CustomFieldDefinition], **kwargs):
        super().__init__(*args, **kwargs)
        add_custom_fields(self, definitions, for_filter=True)


class BulkActionForm(forms.Form):
    ACTIONS = [("assign_owner", "Assign owner"), ("tag", "Add tag"), ("untag", "Remove tag"),
               ("lifecycle", "Set lifecycle stage")]
    action = forms.ChoiceField(choices=ACTIONS)
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=False)
    owner = forms.ModelChoiceField(queryset=None, required=False)
    tag = forms.CharField(required=False, max_length=50)
    lifecycle_stage = forms.ChoiceField(choices=[("", "—")] + list(Contact.Lifecycle.choices), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(user)

    def clean_ids(self):
        return self.cleaned_data["ids"]

    def full_clean(self):
        # ids come from checkboxes; accept any integers and let the service scope them.
        raw = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        self.fields["ids"].choices = [(value, value) for value in raw if str(value).isdigit()]
        super().full_clean()

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if not data.get("ids"):
            raise forms.ValidationError("Select at least one record.")
        if action in ("tag", "untag") and not (data.get("tag") or "").strip():
            self.add_error("tag", "Enter a tag.")
        if action == "lifecycle" and not data.get("lifecycle_stage"):
            self.add_error("lifecycle_stage", "Choose a stage.")
        return data
