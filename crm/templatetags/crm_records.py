from django import template

from crm.services.phones import phone_display

register = template.Library()


@register.filter
def phone(number: str) -> str:
    """E.164 → readable international format (``+49 30 1234567``)."""
    return phone_display(number) if number else ""
