"""`{{ amount|krw }}` -> `300,000원` (loaded in every template as a builtin)."""
from django import template

from jinju_portal.money import format_krw

register = template.Library()


@register.filter(name="krw")
def krw(value):
    try:
        return format_krw(value)
    except (TypeError, ValueError):
        return ""
