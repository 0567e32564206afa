"""Forms of the CDP import pages."""

from __future__ import annotations

from django import forms

from cdp.models import EventImport, Source

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class ImportUploadForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=Source.objects.filter(enabled=True).exclude(kind=Source.Kind.CRM).order_by("name"),
        help_text="An enabled source (the CRM source only takes the CRM's own changes).")
    kind = forms.ChoiceField(choices=EventImport.Kind.choices)
    file = forms.FileField(help_text="CSV with a header row, UTF-8.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("Files over 200 MB go through the backfill_events command.")
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError("Upload a .csv file.")
        return upload
