"""Admin-defined extra fields per object type; values live in each record's ``custom`` JSON."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class CustomFieldDefinition(models.Model):
    class ObjectType(models.TextChoices):
        CONTACT = "contact", "Contact"
        COMPANY = "company", "Company"
        DEAL = "deal", "Deal"

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        BOOLEAN = "boolean", "Yes/No"

    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    key = models.SlugField(max_length=50, help_text="Stored key in the record's custom values, e.g. 'tier'.")
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=10, choices=FieldType.choices, default=FieldType.TEXT)
    choices = ArrayField(models.CharField(max_length=100), default=list, blank=True,
                         help_text="Allowed values for a choice field, comma separated.")
    required = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=0)
    help_text = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["object_type", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "key"], name="crm_customfield_key_unique"),
            models.CheckConstraint(condition=~Q(field_type="choice") | ~Q(choices=[]),
                                   name="crm_customfield_choice_has_choices"),
        ]

    def __str__(self) -> str:
        return f"{self.get_object_type_display()}: {self.label}"
