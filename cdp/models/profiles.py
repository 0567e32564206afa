"""Unified profiles (one per real person) and accounts (the companies that group calls attach people to)."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Account(models.Model):
    """A company/account known from ``group`` calls; profiles link to it, they are not merged through it."""

    group_id = models.CharField(max_length=255, unique=True)
    traits = models.JSONField(default=dict, blank=True)
    trait_times = models.JSONField(default=dict, blank=True)
    crm_company_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.traits.get("name") or self.group_id


class Profile(models.Model):
    """One person. A merged profile keeps its row with ``merged_into`` pointing at the survivor (audit, redirects).

    ``traits`` holds the latest value of each trait and ``trait_times`` the event time (ISO) that set it, so a
    late old event never overwrites a newer value. ``computed`` holds computed trait values by key and
    ``computed_state`` their mergeable partial aggregates.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Its index, like those of account and crm_contact_id below, holds only the rows that have a value: most
    # profiles have none, and identity resolution creates thousands a second.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="absorbed", db_index=False
    )
    traits = models.JSONField(default=dict, blank=True)
    trait_times = models.JSONField(default=dict, blank=True)
    computed = models.JSONField(default=dict, blank=True)
    computed_state = models.JSONField(default=dict, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="profiles",
                                db_index=False)  # indexed as cdp_profile_account below
    crm_contact_id = models.BigIntegerField(null=True, blank=True)  # unique: see constraints

    class Meta:
        indexes = [
            models.Index(fields=["account"], condition=Q(account__isnull=False), name="cdp_profile_account"),
            models.Index(fields=["merged_into"], condition=Q(merged_into__isnull=False),
                         name="cdp_profile_merged_into"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["crm_contact_id"], condition=Q(crm_contact_id__isnull=False),
                                    name="cdp_profile_crm_contact_unique"),
        ]

    def __str__(self) -> str:
        name = self.traits.get("name") or self.traits.get("email") or ""
        return f"Profile {self.pk} {name}".strip()

    @property
    def display_name(self) -> str:
        t = self.traits or {}
        full = " ".join(str(t[k]) for k in ("first_name", "last_name") if t.get(k))
        return str(t.get("name") or full or t.get("email") or f"Profile {self.pk}")


class ReadTokenScope(models.TextChoices):
    """What a read token may read. Identifiers only by default: no personal data unless asked for."""

    IDENTIFIERS = "identifiers", "Identifiers (the person's ids: user id, email, anonymous ids, external ids)"
    TRAITS = "traits", "Traits (traits, computed traits, CRM contact, segments)"
    EVENTS = "events", "Events (the person's events and their properties)"


def read_token_default_scopes() -> list[str]:
    return [ReadTokenScope.IDENTIFIERS.value]


class ReadToken(models.Model):
    """A read token for the profile API. Only the SHA-256 of the token is stored; it is shown once.

    ``use_count``/``last_used_at`` are written at most once per CDP_READ_TOKEN_USAGE_FLUSH_SECONDS per token
    (uses in between are counted in Redis and added then), so reading does not write a row per request.
    """

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=20, choices=ReadTokenScope.choices),
                        default=read_token_default_scopes, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    requests_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: CDP_READ_TOKEN_REQUESTS_PER_MINUTE.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.BigIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scopes__contained_by=[c.value for c in ReadTokenScope]),
                name="cdp_readtoken_known_scopes"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
