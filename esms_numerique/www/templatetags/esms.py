from django import template

from esms_numerique.rules.money import format_eur, format_share
from esms_numerique.rules.results import VERDICT_LABELS, Verdict
from esms_numerique.www.charts import count_label

register = template.Library()

BADGES = {Verdict.BLOQUANT: "error", Verdict.A_APPRECIER: "warning", Verdict.OK: "success"}


@register.filter
def eur(amount):
    return format_eur(amount)


@register.filter
def nombre(count):
    """12 345 the French way."""
    return count_label(count)


@register.filter
def pourcent(share):
    return format_share(share)


@register.filter
def verdict_label(verdict):
    return VERDICT_LABELS[Verdict(verdict)]


@register.filter
def verdict_badge(verdict):
    return BADGES[Verdict(verdict)]


@register.filter
def attr(obj, name):
    return getattr(obj, name)
