"""Companies (accounts) that contacts work at."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower, Upper
from simple_history.models import HistoricalRecords


class Company(models.Model):
    """An organisation. ``domain`` is stored lower-cased and is unique when set (the import upsert key)."""

    class Size(models.TextChoices):
        S1 = "1-10", "1–10"
        S11 = "11-50", "11–50"
        S51 = "51-200", "51–200"
        S201 = "201-1000", "201–1,000"
        S1001 = "1001-5000", "1,001–5,000"
        S5001 = "5001+", "5,001+"

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, help_text="e.g. acme.com (lower-case, no scheme).")
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=20, choices=Size.choices, blank=True)
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. DE.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_companies")
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="companies")
    # Tags are a text[] with a GIN index rather than a Tag table: filtering (`tags @> {x}`) and set-based bulk
    # tagging (`array_append` in one UPDATE) stay single-table operations, and imports need no tag upserts.
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"
        indexes = [
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="crm_company_name_trgm"),
            GinIndex(OpClass("domain", name="gin_trgm_ops"), name="crm_company_domain_trgm"),
            GinIndex(fields=["tags"], name="crm_company_tags"),
            GinIndex(fields=["custom"], name="crm_company_custom", opclasses=["jsonb_path_ops"]),
            models.Index(fields=["owner", "name"], name="crm_company_owner"),
            models.Index(fields=["team"], name="crm_company_team"),
            models.Index(Lower("name"), "id", name="crm_company_lname"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["domain"], condition=~Q(domain=""), name="crm_company_domain_unique"),
            models.CheckConstraint(condition=Q(domain=Lower("domain")), name="crm_company_domain_lower"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.domain = (self.domain or "").strip().lower()
        super().save(*args, **kwargs)
