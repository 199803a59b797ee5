from django import template

from esms_numerique.rules.money import format_eur
from esms_numerique.rules.results import VERDICT_LABELS, Verdict

register = template.Library()

BADGES = {Verdict.BLOQUANT: "error", Verdict.A_APPRECIER: "warning", Verdict.OK: "success"}


@register.filter
def eur(amount):
    return format_eur(amount)


@register.filter
def verdict_label(verdict):
    return VERDICT_LABELS[Verdict(verdict)]


@register.filter
def verdict_badge(verdict):
    return BADGES[Verdict(verdict)]


@register.filter
def attr(obj, name):
    return getattr(obj, name)
