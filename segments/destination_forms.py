"""Forms of the segment page's destinations: a webhook, and a CRM action (the fields of the chosen kind are shown,
static/js/app.js ``data-sets-form-kind``). They describe shape only; segments.services.destinations checks
the rest and its field errors are put back on the form (``add_service_errors``)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from crm.models import Contact, Team
from segments.models import Destination
from segments.services.crm_actions import ASSIGN_TO, PLACEHOLDERS

K = Destination.Kind
ACTION_KINDS = [(k.value, k.label) for k in (K.TASK, K.TAG_ADD, K.TAG_REMOVE, K.LIFECYCLE, K.CREATE_CONTACT)]
ASSIGN_LABELS = {"owner": "The contact's owner", "user": "A chosen user", "team": "By turns among a team"}


class _ServiceErrors:
    #: a service's error key → the form field that shows it (others: the key itself, or the whole form)
    error_fields: dict[str, str] = {}

    def add_service_errors(self, exc: ValidationError) -> None:
        for key, messages in exc.message_dict.items():
            field = self.error_fields.get(key, key)
            self.add_error(field if field in self.fields else None, messages)


class WebhookForm(_ServiceErrors, forms.Form):
    name = forms.CharField(max_length=120, required=False, help_text="Shown on the segment page (default: the URL).")
    url = forms.CharField(label="URL", max_length=2000, help_text="An http(s) address on the public internet.")
    on_enter = forms.BooleanField(label="Call when a profile enters", required=False, initial=True)
    on_exit = forms.BooleanField(label="Call when a profile leaves", required=False)
    traits = forms.CharField(label="Traits to send", max_length=2000, required=False,
                             help_text="Trait keys, separated by commas (e.g. plan, city).")
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def __init__(self, *args, destination: Destination | None = None, **kwargs):
        if destination is not None:
            kwargs.setdefault("initial", {
                "name": destination.name, "url": destination.url, "on_enter": destination.on_enter,
                "on_exit": destination.on_exit, "traits": ", ".join(destination.traits),
                "enabled": destination.enabled})
        super().__init__(*args, **kwargs)
        if destination is None:
            del self.fields["enabled"]

    def values(self) -> dict:
        return dict(self.cleaned_data)


class ActionForm(_ServiceErrors, forms.Form):
    error_fields = {"user_id": "user", "team_id": "team"}

    kind = forms.ChoiceField(label="Action", choices=ACTION_KINDS,
                             widget=forms.Select(attrs={"data-sets-form-kind": ""}))
    name = forms.CharField(max_length=120, required=False, help_text="Shown on the segment page.")
    subject = forms.CharField(label="Task subject", max_length=200, required=False,
                              help_text=f"Placeholders: {PLACEHOLDERS}.")
    body = forms.CharField(label="Task notes", max_length=5000, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
    assign_to = forms.ChoiceField(label="Assign the task to", choices=[(a, ASSIGN_LABELS[a]) for a in ASSIGN_TO],
                                  required=False, initial="owner")
    user = forms.ModelChoiceField(label="User", queryset=get_user_model().objects.none(), required=False,
                                  help_text="For “a chosen user” (and when the contact has no owner).")
    team = forms.ModelChoiceField(label="Team", queryset=Team.objects.none(), required=False,
                                  help_text="For “by turns among a team” and for new lead contacts.")
    due_in_hours = forms.IntegerField(label="Due in (hours)", min_value=0, max_value=24 * 365, initial=24,
                                      required=False)
    tag = forms.CharField(max_length=50, required=False)
    stage = forms.ChoiceField(label="Lifecycle stage", choices=Contact.Lifecycle.choices, required=False)
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def __init__(self, *args, destination: Destination | None = None, **kwargs):
        if destination is not None:
            cfg = destination.config
            kwargs.setdefault("initial", {
                "kind": destination.kind, "name": destination.name, "enabled": destination.enabled,
                "subject": cfg.get("subject", ""), "body": cfg.get("body", ""),
                "assign_to": cfg.get("assign_to", "owner"), "user": cfg.get("user_id"), "team": cfg.get("team_id"),
                "due_in_hours": cfg.get("due_in_hours", 24), "tag": cfg.get("tag", ""), "stage": cfg.get("stage")})
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = get_user_model().objects.filter(is_active=True).order_by(
            "first_name", "last_name", "username")
        self.fields["user"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        self.fields["team"].queryset = Team.objects.order_by("name")
        if destination is None:
            del self.fields["enabled"]
        else:
            self.fields["kind"].disabled = True  # an action keeps its kind: remove it and add another

    def clean(self):
        data = super().clean()
        kind, assign_to = data.get("kind"), data.get("assign_to")
        if kind == K.TASK and assign_to == "user" and not data.get("user"):
            self.add_error("user", "Choose the user who gets the task.")
        if (kind == K.TASK and assign_to == "team" or kind == K.CREATE_CONTACT) and not data.get("team"):
            self.add_error("team", "Choose the team whose members take turns.")
        return data

    @property
    def chosen_kind(self) -> str:
        value = self.data.get(self.add_prefix("kind")) if self.is_bound and not self.fields["kind"].disabled \
            else self.initial.get("kind")
        return value if value in dict(ACTION_KINDS) else K.TASK

    def config(self) -> dict:
        """The action's settings from the cleaned fields of its kind (checked by the service)."""
        data = self.cleaned_data
        kind = data["kind"]
        if kind == K.TASK:
            out = {"subject": data.get("subject", ""), "body": data.get("body", ""),
                   "assign_to": data.get("assign_to") or "owner", "due_in_hours": data.get("due_in_hours")}
            if data.get("user"):
                out["user_id"] = data["user"].pk
            if data.get("team"):
                out["team_id"] = data["team"].pk
            return out
        if kind in (K.TAG_ADD, K.TAG_REMOVE):
            return {"tag": data.get("tag", "")}
        if kind == K.LIFECYCLE:
            return {"stage": data.get("stage", "")}
        return {"team_id": data["team"].pk if data.get("team") else None}
