import hashlib
import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models

KEY_PREFIX_LENGTH = 6


def new_write_key() -> str:
    return secrets.token_urlsafe(24)


def write_key_hash(key: str) -> str:
    """How a write key is stored and looked up: its SHA-256 (keys are long random strings: no salt needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _unknown_key_hash() -> str:
    # A source made without source_create (tests, fixtures) gets a key nobody knows.
    return write_key_hash(new_write_key())


class Source(models.Model):
    """Where events come from (a website, a server, an email platform, the CRM itself, an import).

    The write key authenticates the collection API. Only its SHA-256 and its first characters (to recognise it)
    are stored; the key itself is shown once, when the source is created and when the key is rotated. After a
    rotation the previous key stays valid until ``previous_key_expires_at`` (grace period), so senders can switch
    without losing events; an admin can end the grace period at once.
    """

    class Kind(models.TextChoices):
        WEBSITE = "website", "Website"
        SERVER = "server", "Server"
        MOBILE = "mobile", "Mobile"
        EMAIL = "email", "Email"
        CRM = "crm", "CRM"
        IMPORT = "import", "Import"

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    write_key_prefix = models.CharField(max_length=12, blank=True, editable=False)
    write_key_hash = models.CharField(max_length=64, unique=True, default=_unknown_key_hash, editable=False)
    previous_key_prefix = models.CharField(max_length=12, blank=True, editable=False)
    previous_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    previous_key_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    allowed_origins = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text='Browser origins allowed to send events, e.g. "https://shop.example.com", '
        '"https://*.example.com" or "*". The app\'s own origin is always allowed.',
    )
    rate_limit_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Events per second accepted for this write key (empty: no limit)."
    )
    settings = models.JSONField(default=dict, blank=True)
    identity_keys = models.BooleanField(
        null=True, blank=True, default=None, verbose_name="Email, phone and external ids join profiles",
        help_text="Whether this source's messages may name a person by email, phone or external ids (merge keys). "
        "Empty: by kind (no for website and mobile sources, whose keys are public; yes for the others). When "
        "no, those values are still stored as traits, they only do not join profiles.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    CLIENT_KINDS = frozenset({"website", "mobile"})  # their write keys ship to browsers and apps: public

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def asserts_identity(self) -> bool:
        """Whether email, phone and external ids of this source's messages are merge keys (identity_keys)."""
        return source_asserts_identity(self.kind, self.identity_keys)

    @property
    def key_hint(self) -> str:
        """The recognisable start of the current key, e.g. "AbC123••••••••" (empty when unknown)."""
        return f"{self.write_key_prefix}{'•' * 8}" if self.write_key_prefix else ""

    @property
    def previous_key_hint(self) -> str:
        return f"{self.previous_key_prefix}{'•' * 8}" if self.previous_key_prefix else ""


def source_asserts_identity(kind: str, identity_keys: bool | None) -> bool:
    """A source's own setting, else its kind's default: client-side (website, mobile) sources do not."""
    if identity_keys is not None:
        return identity_keys
    return kind not in Source.CLIENT_KINDS
