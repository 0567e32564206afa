"""Computed traits: marketer-defined aggregates over a profile's events, stored on the profile like traits."""

from django.core.validators import RegexValidator
from django.db import models


class ComputedTrait(models.Model):
    class Aggregate(models.TextChoices):
        COUNT = "count", "Count of events"
        SUM = "sum", "Sum of a property"
        AVG = "avg", "Average of a property"
        MIN = "min", "Minimum of a property"
        MAX = "max", "Maximum of a property"
        FIRST_TIME = "first_time", "First time"
        LAST_TIME = "last_time", "Last time"
        MOST_FREQUENT = "most_frequent", "Most frequent value of a property"
        UNIQUE_LIST = "unique_list", "List of unique values of a property"
        UNIQUE_COUNT = "unique_count", "Count of unique values of a property"

    NEEDS_PROPERTY = {"sum", "avg", "min", "max", "most_frequent", "unique_list", "unique_count"}

    key = models.CharField(
        max_length=64, unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "Lower-case letters, digits and underscores.")],
        help_text="Name under which the value is stored on profiles.",
    )
    name = models.CharField(max_length=120)
    aggregate = models.CharField(max_length=20, choices=Aggregate.choices)
    event_type = models.CharField(max_length=20, blank=True, help_text="track/page/screen/identify; empty: any.")
    event_name = models.CharField(max_length=200, blank=True, help_text="Event name; empty: any.")
    property = models.CharField(max_length=200, blank=True, help_text="Property aggregated (dotted path).")
    filters = models.JSONField(
        default=dict, blank=True, help_text='Property equality filters, e.g. {"plan": "pro"}.'
    )
    window_days = models.PositiveIntegerField(null=True, blank=True, help_text="Only events of the last N days.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    recomputed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(aggregate__in=["sum", "avg", "min", "max", "most_frequent", "unique_list",
                                                   "unique_count"]) | ~models.Q(property=""),
                name="cdp_computedtrait_property_needed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"
