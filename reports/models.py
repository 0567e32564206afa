"""Roll-ups of the events table (so marketing dashboards read thousands of rows, not millions) and digest
subscriptions."""

from django.conf import settings
from django.db import models


class EventHourly(models.Model):
    """Events received per UTC hour, source, type and event name ('' for none); rebuilt for recent hours by
    ``reports.services.rollups.event_rollups_refresh``. UTC hours let any time zone cut its days."""

    hour = models.DateTimeField()
    source_id = models.BigIntegerField()
    type = models.CharField(max_length=16)
    event = models.TextField(blank=True, default="")
    events = models.BigIntegerField()
    identified = models.BigIntegerField(help_text="Events that carried a userId.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "source_id", "type", "event"],
                                               name="reports_eventhourly_key")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.type} {self.event}: {self.events}"


class PageHourly(models.Model):
    """Page views per UTC hour and path."""

    hour = models.DateTimeField()
    path = models.TextField()
    views = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "path"], name="reports_pagehourly_key")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.path}: {self.views}"


class DigestSubscription(models.Model):
    """A user who receives his dashboard by e-mail every week."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_digest")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Weekly digest for {self.user}"


class Touch(models.Model):
    """A web touch: a page view, by a profile, that came from a campaign (``context.campaign``, i.e. utm_*) or
    from another site (a referrer whose host differs from the page's own). One row per such event, copied from the
    events table by ``reports.services.touches.touches_refresh`` (recent hours every 5 minutes, with the event
    roll-ups) so that attribution reads the few touches of the deals' profiles instead of their every event.
    ``profile_id`` follows the event's profile: touches of merged or split profiles are re-pointed on refresh."""

    pk = models.CompositePrimaryKey("event_id", "received_at")
    event_id = models.BigIntegerField()
    received_at = models.DateTimeField()
    profile_id = models.BigIntegerField()
    ts = models.DateTimeField(help_text="The event's own time.")
    utm_source = models.TextField(null=True, blank=True)
    utm_medium = models.TextField(null=True, blank=True)
    utm_campaign = models.TextField(null=True, blank=True)
    referrer = models.TextField(null=True, blank=True, help_text="Host of a referrer other than the page's own.")

    class Meta:
        indexes = [
            models.Index(fields=["profile_id", "ts"], name="reports_touch_profile_ts"),
            models.Index(fields=["received_at"], name="reports_touch_received"),
        ]

    def __str__(self) -> str:
        return f"touch {self.event_id} of profile {self.profile_id}"
