"""Deals, their stage changes and sales targets."""

from django.conf import settings
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as EUR or USD.")


class Deal(models.Model):
    """A sales opportunity. ``status`` is derived from the stage's won/lost flags by the services."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=200)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    pipeline = models.ForeignKey("crm.Pipeline", on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey("crm.Stage", on_delete=models.PROTECT, related_name="deals")
    probability = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    probability_overridden = models.BooleanField(default=False)
    expected_close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_deals")
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    company = models.ForeignKey("crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals")
    contacts = models.ManyToManyField("crm.Contact", blank=True, related_name="deals")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    lost_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["pipeline", "stage", "status"], name="crm_deal_board"),
            # Board cards: the first deals of a stage by close date, read by an index range scan.
            models.Index(fields=["stage", "expected_close_date", "id"], name="crm_deal_stage_close"),
            models.Index(fields=["expected_close_date", "status"], name="crm_deal_forecast"),
            models.Index(fields=["owner", "status", "expected_close_date"], name="crm_deal_owner"),
            models.Index(fields=["team", "status"], name="crm_deal_team"),
            # Sorts of the deal list (read backwards for descending order).
            models.Index(fields=["created_at", "id"], name="crm_deal_created"),
            models.Index(fields=["amount", "id"], name="crm_deal_amount"),
            models.Index(fields=["expected_close_date", "id"], name="crm_deal_close"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="crm_deal_probability_range"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="crm_deal_amount_not_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="crm_deal_currency_iso"),
            models.CheckConstraint(condition=~Q(status="lost", lost_reason=""), name="crm_deal_lost_needs_reason"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self):
        return self.amount * self.probability / 100


class DealStageChange(models.Model):
    """One move of a deal between stages (``from_stage`` is null for the first placement)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey("crm.Stage", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey("crm.Stage", on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["deal", "changed_at"], name="crm_dealstage_deal")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"


class SalesTarget(models.Model):
    """What an owner or a team should win in one month (``month`` is the first day of that month)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="sales_targets")
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="sales_targets")
    month = models.DateField(help_text="First day of the month.")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.CheckConstraint(condition=Q(owner__isnull=False, team__isnull=True)
                                   | Q(owner__isnull=True, team__isnull=False), name="crm_target_owner_xor_team"),
            models.CheckConstraint(condition=Q(month__day=1), name="crm_target_month_first_day"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="crm_target_amount_not_negative"),
            models.UniqueConstraint(fields=["owner", "month", "currency"], condition=Q(owner__isnull=False),
                                    name="crm_target_owner_month"),
            models.UniqueConstraint(fields=["team", "month", "currency"], condition=Q(team__isnull=False),
                                    name="crm_target_team_month"),
        ]

    def __str__(self) -> str:
        return f"{self.owner or self.team} {self.month:%Y-%m}: {self.amount} {self.currency}"
