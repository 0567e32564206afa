from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """A user's named list filter: the list page's query string (search, filters, sorting)."""

    class ObjectType(models.TextChoices):
        CONTACT = "contact", "Contacts"
        COMPANY = "company", "Companies"
        DEAL = "deal", "Deals"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    name = models.CharField(max_length=100)
    query_string = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "object_type", "name"], name="crm_savedview_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.object_type})"
