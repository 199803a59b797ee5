from django import template

from esms_numerique.rules.citations import citations as parse_citations

register = template.Library()


@register.filter
def citations(source):
    """A result's source as the public reads it: [Citation(title, paragraph, url)] (rules/citations.py)."""
    return parse_citations(str(source or ""))
