"""Phone numbers: normalize to E.164 with the ``phonenumbers`` library."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def phone_default_region() -> str | None:
    """Region used for numbers typed without a country code (setting CRM_DEFAULT_PHONE_REGION, e.g. "DE")."""
    return getattr(settings, "CRM_DEFAULT_PHONE_REGION", None) or None


def phone_normalize(*, raw: str, region: str | None = None) -> str:
    """Return ``raw`` in E.164 (``+4930123456``) or raise ``ValidationError`` explaining what is wrong.

    Numbers without a leading ``+`` are read in ``region`` (or the default region); without one they are refused.
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.")
    region = (region or phone_default_region() or "").upper() or None
    if not text.startswith("+") and not text.startswith("00") and region is None:
        raise ValidationError(
            f"“{text}” has no country code; enter it in international format, e.g. +49 30 1234567."
        )
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(f"“{raw}” is not a phone number.") from None
    if not phonenumbers.is_possible_number(parsed) or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(f"“{raw}” is not a valid phone number for its country.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_display(number: str) -> str:
    """E.164 → international format for display (``+49 30 123456``); unparsable input is returned as is."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number, None),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return number
