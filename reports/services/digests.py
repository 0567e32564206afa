"""The weekly e-mail digest of a user's dashboard: subscribing, the message, sending once per week."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from reports.dashboards import dashboard_panels
from reports.models import DigestSubscription

_SALT = "reports.digest.unsubscribe"
RESEND_AFTER = timedelta(days=6)


def digest_subscribe(*, user: AbstractBaseUser) -> DigestSubscription:
    return DigestSubscription.objects.get_or_create(user=user)[0]


def digest_unsubscribe(*, user: AbstractBaseUser) -> bool:
    """Returns whether a subscription was removed."""
    return DigestSubscription.objects.filter(user=user).delete()[0] > 0


def unsubscribe_token(user: AbstractBaseUser) -> str:
    return signing.dumps({"u": user.pk}, salt=_SALT)


def user_from_unsubscribe_token(token: str):
    """The user a token was made for, or None for a forged or broken one."""
    try:
        pk = signing.loads(token, salt=_SALT)["u"]
    except (signing.BadSignature, KeyError, TypeError):
        return None
    return get_user_model().objects.filter(pk=pk).first()


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def digest_message(*, user: AbstractBaseUser) -> EmailMultiAlternatives:
    """The digest of ``user``'s dashboard (text and HTML), with an unsubscribe link that needs no login."""
    panels = dashboard_panels(user)
    unsubscribe = _absolute(reverse("reports:digest-unsubscribe", args=[unsubscribe_token(user)]))
    context = {"user": user, "panels": panels, "site": settings.SITE_URL, "unsubscribe": unsubscribe,
               "dashboard": _absolute(reverse("reports:home"))}
    message = EmailMultiAlternatives(
        subject="Your weekly dashboard", body=render_to_string("reports/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    message.attach_alternative(render_to_string("reports/digest.html", context), "text/html")
    return message


def digests_due(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(DigestSubscription.objects.filter(user__is_active=True).exclude(user__email="")
                .exclude(last_sent_at__gt=now - RESEND_AFTER).values_list("id", flat=True))


def digest_send(*, subscription_id: int, now: datetime | None = None) -> bool:
    """Send one subscription's digest unless it went out less than RESEND_AFTER ago (safe to run twice: the row
    is locked while sending and stamped in the same transaction). Returns whether a mail was sent."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = (DigestSubscription.objects.select_for_update().select_related("user")
               .filter(pk=subscription_id).first())
        if sub is None or not sub.user.is_active or not sub.user.email:
            return False
        if sub.last_sent_at and sub.last_sent_at > now - RESEND_AFTER:
            return False
        digest_message(user=sub.user).send()
        sub.last_sent_at = now
        sub.save(update_fields=["last_sent_at"])
    return True
