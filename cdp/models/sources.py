import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models


def new_write_key() -> str:
    return secrets.token_urlsafe(24)


class Source(models.Model):
    """Where events come from (a website, a server, an email platform, the CRM itself, an import).

    The write key authenticates the collection API. After a rotation the previous key stays valid until
    ``previous_key_expires_at`` (grace period), so senders can switch without losing events.
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
    write_key = models.CharField(max_length=64, unique=True, default=new_write_key)
    previous_write_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"
