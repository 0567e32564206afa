import secrets

from django.db import models


def new_write_key() -> str:
    return secrets.token_urlsafe(24)


class Source(models.Model):
    """Where events come from (a website, a server, an email platform, the CRM itself, an import)."""

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
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"
