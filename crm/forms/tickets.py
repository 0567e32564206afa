"""Forms of the support pages: reply/note, ticket controls, bulk actions, new ticket, public web form, CSAT."""

from __future__ import annotations

from django import forms

from crm.models import Ticket, TicketQueue


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class ReplyForm(forms.Form):
    KIND_CHOICES = [("public", "Public reply"), ("note", "Internal note")]
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="public", widget=forms.RadioSelect)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000)
    status = forms.ChoiceField(choices=[("", "— keep status —"), *[
        (value, f"and set {label.lower()}") for value, label in Ticket.Status.choices if value != "new"]],
        required=False, label="Then")
    attachments = MultipleFileField(label="Attachments")


class TicketControlsForm(forms.Form):
    status = forms.ChoiceField(choices=Ticket.Status.choices)
    priority = forms.ChoiceField(choices=Ticket.Priority.choices)
    assignee = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    queue = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args, agents=(), queues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Unassigned"), *[
            (a.pk, a.get_full_name() or a.get_username()) for a in agents]]
        # Plain choices from a list: a model choice field would read the queues through a server-side cursor.
        self.queues = {q.pk: q for q in queues}
        self.fields["queue"].choices = [(pk, q.name) for pk, q in self.queues.items()]

    def clean_queue(self):
        return self.queues[self.cleaned_data["queue"]]


class BulkForm(forms.Form):
    tickets = forms.TypedMultipleChoiceField(coerce=int, choices=())
    status = forms.ChoiceField(choices=[("", "Status…"), *Ticket.Status.choices], required=False)
    priority = forms.ChoiceField(choices=[("", "Priority…"), *Ticket.Priority.choices], required=False)
    assignee = forms.CharField(required=False)

    def __init__(self, *args, ticket_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].choices = [(pk, pk) for pk in ticket_ids]


class NewTicketForm(forms.Form):
    subject = forms.CharField(max_length=250)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=100_000)
    requester_email = forms.EmailField(label="Requester email", required=False)
    queue = forms.ModelChoiceField(queryset=TicketQueue.objects.none())
    priority = forms.ChoiceField(choices=Ticket.Priority.choices, initial=Ticket.Priority.NORMAL)
    channel = forms.ChoiceField(choices=Ticket.Channel.choices, initial=Ticket.Channel.PHONE)

    def __init__(self, *args, queues=None, **kwargs):
        super().__init__(*args, **kwargs)
        if queues is not None:
            self.fields["queue"].queryset = queues


class WebTicketForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField()
    subject = forms.CharField(max_length=250)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=20_000)
    # Honeypot: hidden from people (CSS class, aria-hidden); bots fill it in.
    website = forms.CharField(required=False, label="Leave this empty")


class CsatForm(forms.Form):
    rating = forms.TypedChoiceField(coerce=int, choices=[(i, str(i)) for i in range(1, 6)],
                                    widget=forms.RadioSelect, label="Your rating (1 = poor, 5 = excellent)")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000)


class CannedResponseForm(forms.Form):
    """A canned response; ``team`` offers "shared" only to those who may manage shared responses."""

    title = forms.CharField(max_length=150)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=20_000,
                           help_text="Placeholders: {{ requester_name }}, {{ ticket_number }}, {{ agent_name }}, "
                                     "{{ ticket_subject }}.")
    team = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="For")

    def __init__(self, *args, teams=(), may_share=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.teams = {t.pk: t for t in teams}
        choices = [("", "Shared with every team")] if may_share else []
        self.fields["team"].choices = choices + [(pk, f"Team {t.name}") for pk, t in self.teams.items()]
        self.fields["team"].required = not may_share

    def clean_body(self):
        from crm.services.tickets_canned import canned_body_errors

        body = self.cleaned_data["body"]
        if errors := canned_body_errors(body):
            raise forms.ValidationError(errors)
        return body

    def clean_team(self):
        team_id = self.cleaned_data["team"]
        return self.teams.get(team_id) if team_id is not None else None
