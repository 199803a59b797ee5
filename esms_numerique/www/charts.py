"""Charts drawn on the server as SVG with pygal: no script, no outside resource, the same numbers as the table."""

from __future__ import annotations

import pygal
from django.http import HttpResponse
from pygal.style import Style

from esms_numerique.indicators.compute import RATES
from esms_numerique.indicators.trajectory import LABELS, Point

# DSFR palette: blue France, its lighter tint, green, orange, purple.
COLORS = ("#000091", "#6a6af4", "#18753c", "#b34000", "#a558a0")
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    colors=(*COLORS, "#3a3a3a", "#929292", "#666666"),
    font_family="Marianne, Arial, sans-serif",
    label_font_size=12,
    legend_font_size=12,
    # Plain light guides, so that the only dashed lines are the targets.
    guide_stroke_color="#e5e5e5",
    major_guide_stroke_color="#cecece",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} %"


def count_label(value: float | None) -> str:
    """12 345 the French way (narrow no-break space)."""
    return "" if value is None else f"{round(value):,d}".replace(",", "\u202f")


def euros_label(value: float | None) -> str:
    return "" if value is None else f"{count_label(value)} €"


def _chart(kind: type[pygal.graph.graph.Graph], title: str, **options) -> pygal.graph.graph.Graph:
    """A pygal chart with the platform's look, and no script nor outside resource in its SVG."""
    return kind(
        js=[],
        disable_xml_declaration=True,
        width=860,
        style=STYLE,
        title=title,
        legend_at_bottom=True,
        truncate_legend=-1,
        **options,
    )


def bars_svg(
    title: str,
    labels: list[str],
    series: dict[str, list[float]],
    formatter=count_label,
    horizontal: bool = False,
) -> str:
    """Bars per label, one colour per series (e.g. engaged and paid by region)."""
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = _chart(
        kind,
        title,
        height=max(260, 60 + 34 * len(labels)) if horizontal else 380,
        truncate_label=-1,
        value_formatter=formatter,
        print_values=True,
        no_data_text="Aucune donnée",
        show_legend=len(series) > 1,
    )
    chart.x_labels = labels
    for name, values in series.items():
        chart.add(name, values)
    return chart.render(is_unicode=True)


def trajectory_svg(points: list[Point], targets: dict[str, float], title: str) -> str:
    """One line per rate over the measurement dates, and the targets as dashed grey lines, one per target value."""
    # A rate under the small-count threshold is left out of the line (D-SMALL-COUNTS), as in the tables.
    shown = {
        name: [None if p.shown(name) is None else round(p.shown(name) * 100, 1) for p in points] for name in LABELS
    }
    highest = max([100.0, *(value for values in shown.values() for value in values if value is not None)])
    chart = _chart(
        pygal.Line,
        title,
        height=420,
        range=(0, highest),
        legend_at_bottom_columns=3,
        value_formatter=_percent,
        dots_size=3,
        no_data_text="Aucune mesure",
    )
    chart.x_labels = [f"{p.date:%d/%m/%Y}" for p in points]
    for name, label in LABELS.items():
        chart.add(label, shown[name])
    # The targets as dashed grey lines, one per value (90 % for the DUI rates, 70 % for the socle services).
    by_value: dict[float, list[str]] = {}
    for name in LABELS:
        by_value.setdefault(targets[name], []).append(RATES[name])
    for value, rules in sorted(by_value.items(), reverse=True):
        chart.add(
            f"cible {', '.join(rules)} ({value * 100:.0f} %)",
            [value * 100] * len(points),
            show_dots=False,
            stroke_style={"dasharray": "8, 5", "width": 2.5},
        )
    return chart.render(is_unicode=True)


def svg_response(svg: str) -> HttpResponse:
    """An SVG image that may load nothing and run nothing."""
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
