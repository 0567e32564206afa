"""Contacts, their emails and phones, and their lifecycle history."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower, Upper
from django.utils import timezone
from simple_history.models import HistoricalRecords


class LifecycleStage(models.TextChoices):
    LEAD = "lead", "Lead"
    MARKETING_QUALIFIED = "marketing_qualified", "Marketing qualified"
    SALES_QUALIFIED = "sales_qualified", "Sales qualified"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    CHURNED = "churned", "Churned"


class Contact(models.Model):
    """A person. ``email`` mirrors the primary ContactEmail (lower-cased) for fast search and upsert;
    ``phone`` mirrors the first phone (E.164) for the list. Services keep both in sync."""

    Lifecycle = LifecycleStage

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    company = models.ForeignKey("crm.Company", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="contacts")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_contacts")
    team = models.ForeignKey("crm.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    lifecycle_stage = models.CharField(max_length=30, choices=LifecycleStage.choices, default=LifecycleStage.LEAD)
    lead_source = models.CharField(max_length=100, blank=True)
    # See Company.tags for why tags are an array with a GIN index rather than a Tag model.
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    email = models.CharField(max_length=254, blank=True, help_text="Primary email (lower-cased), kept by services.")
    phone = models.CharField(max_length=20, blank=True, help_text="First phone (E.164), kept by services.")
    # Upper-cased "first last email phone", computed by Postgres so every writer (services, COPY imports)
    # keeps it right; searched with ILIKE through a trigram GIN index.
    search_text = models.GeneratedField(
        expression=Upper(Concat("first_name", Value(" "), "last_name", Value(" "), "email", Value(" "), "phone")),
        output_field=models.TextField(), db_persist=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "search_text"])

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            # One trigram index over the row's own searchable text; company name and secondary emails/phones
            # are searched through their own trigram indexes and unioned by the selector.
            GinIndex(OpClass("search_text", name="gin_trgm_ops"), name="crm_contact_search_trgm"),
            GinIndex(fields=["tags"], name="crm_contact_tags"),
            GinIndex(fields=["custom"], name="crm_contact_custom", opclasses=["jsonb_path_ops"]),
            models.Index(fields=["email"], name="crm_contact_email"),
            models.Index(fields=["owner", "lifecycle_stage"], name="crm_contact_owner"),
            models.Index(fields=["team"], name="crm_contact_team"),
            models.Index(fields=["company"], name="crm_contact_company"),
            models.Index(fields=["lifecycle_stage", "id"], name="crm_contact_lifecycle_id"),
            # Prefix search for one- and two-letter queries (too short for trigrams).
            models.Index(OpClass("search_text", name="text_pattern_ops"), name="crm_contact_search_prefix"),
            models.Index(OpClass(Upper("last_name"), name="text_pattern_ops"), name="crm_contact_ln_prefix"),
            models.Index(fields=["-created_at", "-id"], name="crm_contact_created"),
            models.Index(fields=["-updated_at", "-id"], name="crm_contact_updated"),
            # The list's default order. It also holds the names (the planner allows an index-only scan of an
            # expression index only when the columns of the expressions are in it) and the visibility columns:
            # a page's ids are then read from the index alone, skipping the rows before it unread.
            models.Index(Lower("last_name"), Lower("first_name"), "id", name="crm_contact_lname_cover",
                         include=["last_name", "first_name", "owner", "team"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="crm_contact_email_lower"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact #{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(max_length=254)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [
            GinIndex(OpClass("email", name="gin_trgm_ops"), name="crm_contactemail_trgm"),
            # The search looks up only the other emails (the primary one is in the contact's ``search_text``):
            # without this partial index a common name's primary emails are read and thrown away.
            GinIndex(OpClass("email", name="gin_trgm_ops"), name="crm_contactemail_other_trgm",
                     condition=Q(is_primary=False)),
            models.Index(fields=["email"], name="crm_contactemail_email"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["contact", "email"], name="crm_contactemail_unique"),
            models.UniqueConstraint(fields=["contact"], condition=Q(is_primary=True),
                                    name="crm_contactemail_one_primary"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="crm_contactemail_lower"),
        ]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    class Kind(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        WORK = "work", "Work"
        HOME = "home", "Home"
        OTHER = "other", "Other"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, help_text="E.164, e.g. +4930123456.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MOBILE)

    class Meta:
        ordering = ["id"]
        indexes = [
            GinIndex(OpClass("number", name="gin_trgm_ops"), name="crm_contactphone_trgm"),
            models.Index(fields=["number"], name="crm_contactphone_number"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="crm_contactphone_unique"),
            models.CheckConstraint(condition=Q(number__regex=r"^\+[1-9][0-9]{6,14}$"), name="crm_contactphone_e164"),
        ]

    def __str__(self) -> str:
        return self.number


class LifecycleChange(models.Model):
    """One change of a contact's lifecycle stage (``from_stage`` is blank for the first)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="lifecycle_changes")
    from_stage = models.CharField(max_length=30, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=30, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["contact", "changed_at"], name="crm_lifecycle_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_stage or '—'} → {self.to_stage}"
