from django.conf import settings
from django.db import models


class Segment(models.Model):
    """A named audience of profiles defined by a rule tree (``definition``)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    definition = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
