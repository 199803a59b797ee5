"""The long parts of the dossier's page, built once and cheaply (DECISION D-DOSSIER-PAGE-SCALE).

A Django template costs about 0.1 ms a table row: a grappe of 80 ESSMS measured twice made the rows most of the
page's time. The rows of the grappe's ESSMS and of the measurements are built here with the templates' markup,
escaped as the templates escape (`html.escape`, what `django.utils.html.escape` calls). The calculation's detail
(`www/_result.html`, findings and lines with their sources) depends on the result alone: it is rendered once per
content and kept in the cache under a digest of that content, so a changed result is a new key, never a stale page.
"""

from __future__ import annotations

import functools
from html import escape

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from esms_numerique import caching

# A rendered calculation is found again by its content's digest, so this only bounds how long an unused one is kept.
RESULT_CACHE_SECONDS = 6 * 3600


def _day(value) -> str:
    """`|date:"d/m/Y"` of a date ("" for none)."""
    return value.strftime("%d/%m/%Y") if value else ""


def _or_dash(value) -> str:
    """`|default:"—"`."""
    return escape(str(value)) if value else "—"


def essms_rows(rows: list[dict], multiregional: bool) -> SafeString:
    """The rows of « ESSMS de la grappe » (dossier_views._summary_context's rows)."""
    out = []
    for e in rows:
        highlighted = e.get("highlighted")
        mark = ' data-highlighted="true" class="fr-background-contrast--info"' if highlighted else ""
        badge = ' <span class="fr-badge fr-badge--sm fr-badge--info">votre région</span>' if highlighted else ""
        region = f"<td>{_or_dash(e.get('region'))}</td>" if multiregional else ""
        funded = "non"
        if e.get("fundable"):
            funded = f"oui (rang {escape(str(e['rank']))})" if e.get("rank") else "oui"
        finess = escape(str(e.get("finess_et", "")))
        out.append(
            f'<tr data-finess="{finess}"{mark}><td>{finess}</td><td>{_or_dash(e.get("name"))}{badge}</td>'
            f"<td>{_or_dash(e.get('sector'))}</td><td>{_or_dash(e.get('department'))}</td>{region}"
            f"<td>{funded}</td></tr>\n"
        )
    return mark_safe("".join(out))  # every value above is escaped


def _rate_cell(rate: dict) -> str:
    width = int(rate["width"])
    kind = "met" if rate["met"] else "unmet"
    return (
        f'<td><svg class="esms-bar--inline" width="{width}" height="10" aria-hidden="true" focusable="false">'
        f'<rect class="esms-bar__value--{kind}" width="{width}" height="10"/></svg> {escape(str(rate["percent"]))}</td>'
    )


def _count(value) -> str:
    """`|default_if_none:"—"`."""
    return "—" if value is None else escape(str(value))


def measurement_rows(measurements) -> SafeString:
    """The rows of « Trajectoire par ESSMS »: dates, each rate with its bar (the model's `rates`, secret under the
    small-count threshold, D-SMALL-COUNTS), the targets missed, the optional counts."""
    out = []
    for m in measurements:
        finess = escape(m.finess_et)
        cells = "".join(_rate_cell(rate) for rate in m.rates)
        targets = "atteintes" if m.all_met else "non atteintes : " + escape(", ".join(m.unmet_rules))
        out.append(
            f'<tr data-finess="{finess}"><td>{_day(m.measurement_date)}</td>'
            f"<td>{_day(m.window_start)} – {_day(m.window_end)}</td><td>{finess}</td>{cells}<td>{targets}</td>"
            f"<td>{_count(m.eprescription_imports)} / {_count(m.eparcours_exchanges)}</td></tr>\n"
        )
    return mark_safe("".join(out))  # every value above is escaped


def essms_options(measured: list[str], chosen: str) -> SafeString:
    """The options of « Trajectoire affichée »: one per measured ESSMS, the one chosen for the chart selected."""
    return mark_safe(  # every value is escaped
        "".join(
            f'<option value="{escape(f)}"{" selected" if f == chosen else ""}>ESSMS {escape(f)}</option>'
            for f in measured
        )
    )


def result_detail(result: dict, result_title: str, desk_label: str | None) -> SafeString:
    """`www/_result.html` of this result, rendered once per content (the cache's key is the content's digest)."""
    html = caching.cached(
        "dossier-result",
        [result, result_title, desk_label],
        lambda: render_to_string(
            "www/_result.html", {"result": result, "result_title": result_title, "desk_label": desk_label}
        ),
        RESULT_CACHE_SECONDS,
    )
    return mark_safe(html)  # rendered, hence escaped, by the template engine


def _attrs(attrs: dict) -> str:
    """`django/forms/widgets/attrs.html`: ` name="value"`, a bare ` name` for True, nothing for False."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class QuickSelect(forms.Select):
    """A select whose options are written here rather than through one template include each: the withdrawal form
    lists every ESSMS of the grappe (80 options cost 3 ms through the templates). Same markup as Django's."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = []
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                options.append(f'\n  <optgroup label="{escape(str(group_name))}">')
            for o in group_choices:
                value, label = escape(str(o["value"])), escape(str(o["label"]))
                options.append(f'\n  <option value="{value}"{_attrs(o["attrs"])}>{label}</option>\n')
            if group_name:
                options.append("\n  </optgroup>")
        return mark_safe(f'<select name="{escape(name)}"{_attrs(widget["attrs"])}>{"".join(options)}\n</select>')


@functools.lru_cache(maxsize=512)
def sources_html(source: str) -> SafeString:
    """`www/_sources.html` of a source string: it depends on the string alone (and the sources' file, read once),
    and a page cites the same few texts again and again."""
    return mark_safe(render_to_string("www/_sources.html", {"source": source}))  # rendered, hence escaped


def form_html(form) -> SafeString:
    """An unbound form's markup (`{{ form }}`), which depends on its class, prefix, initial values and choices alone:
    rendered once for those and kept in the cache (the page's forms after the decision cost 3 ms through the
    templates). A bound form, which may carry errors, is rendered as it is."""
    if form is None:
        return ""
    if form.is_bound:
        return form.render()
    choices = {name: list(field.choices) for name, field in form.fields.items() if hasattr(field, "choices")}
    kind = f"{type(form).__module__}.{type(form).__qualname__}"
    html = caching.cached(
        "dossier-form", [kind, form.prefix, form.initial, choices], lambda: str(form.render()), RESULT_CACHE_SECONDS
    )
    return mark_safe(html)  # rendered, hence escaped, by the template engine
