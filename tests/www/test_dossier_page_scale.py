"""The dossier's page at national scale (DECISION D-DOSSIER-PAGE-SCALE): its long rows written in Python carry the
templates' markup, escaped the same way; what the cache keeps follows every change of what it was made from; the
trajectory by ESSMS shows the latest dates that fit, with a link to every measurement."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import Client

from esms_numerique import caching
from esms_numerique.dossiers.services import create_dossier, update_grappe
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.www import dossier_rows, dossier_views
from esms_numerique.www.after_decision_views import WithdrawForm
from tests.dossiers.conftest import campaign_2024, grappe, measure, registry, users  # noqa: F401
from tests.dossiers.test_measurements import deploying  # noqa: F401

pytestmark = pytest.mark.django_db

# The loops the templates had, before the rows were written in Python.
ESSMS_LOOP = (
    "{% for e in essms_rows %}"
    '<tr data-finess="{{ e.finess_et }}"'
    '{% if e.highlighted %} data-highlighted="true" class="fr-background-contrast--info"{% endif %}>'
    "<td>{{ e.finess_et }}</td>"
    '<td>{{ e.name|default:"—" }}'
    '{% if e.highlighted %} <span class="fr-badge fr-badge--sm fr-badge--info">votre région</span>{% endif %}</td>'
    '<td>{{ e.sector|default:"—" }}</td><td>{{ e.department|default:"—" }}</td>'
    '{% if multiregional %}<td>{{ e.region|default:"—" }}</td>{% endif %}'
    "<td>{% if e.fundable %}oui{% if e.rank %} (rang {{ e.rank }}){% endif %}{% else %}non{% endif %}</td>"
    "</tr>{% endfor %}"
)
MEASUREMENT_LOOP = (
    "{% for m in measurements %}"
    '<tr data-finess="{{ m.finess_et }}">'
    '<td>{{ m.measurement_date|date:"d/m/Y" }}</td>'
    '<td>{{ m.window_start|date:"d/m/Y" }} – {{ m.window_end|date:"d/m/Y" }}</td><td>{{ m.finess_et }}</td>'
    "{% for rate in m.rates %}"
    '<td><svg class="esms-bar--inline" width="{{ rate.width }}" height="10" aria-hidden="true" focusable="false">'
    '<rect class="esms-bar__value--{% if rate.met %}met{% else %}unmet{% endif %}" width="{{ rate.width }}" '
    'height="10"/></svg> {{ rate.percent }}</td>{% endfor %}'
    '<td>{% if m.all_met %}atteintes{% else %}non atteintes : {{ m.unmet_rules|join:", " }}{% endif %}</td>'
    '<td>{{ m.eprescription_imports|default_if_none:"—" }} / {{ m.eparcours_exchanges|default_if_none:"—" }}</td>'
    "</tr>{% endfor %}"
)


def same(html: str) -> str:
    """Markup without the whitespace between tags, which the templates' layout added."""
    return re.sub(r">\s+<", "><", html).strip()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("multiregional", [False, True])
def test_the_essms_rows_are_the_templates(multiregional):
    rows = [
        {"finess_et": "350000001", "name": "EHPAD <Les Tilleuls> & « Fils »", "sector": "PA", "department": "35",
         "region": "53", "fundable": True, "rank": 2, "highlighted": True},
        {"finess_et": "350000002", "name": "", "sector": None, "department": "35", "fundable": True, "rank": None,
         "highlighted": False},
        {"finess_et": "350000003", "name": "Foyer d'accueil \"médicalisé\"", "department": "", "region": "",
         "fundable": False, "highlighted": False},
    ]  # fmt: skip
    expected = Template(ESSMS_LOOP).render(Context({"essms_rows": rows, "multiregional": multiregional}))
    built = dossier_rows.essms_rows(rows, multiregional)
    assert same(built) == same(expected)
    assert "&lt;Les Tilleuls&gt; &amp;" in built and "&quot;médicalisé&quot;" in built


def test_the_measurement_rows_are_the_templates(users, deploying):  # noqa: F811
    measure(users["porteur"], deploying, date="2024-05-31", rate=0.5)
    measure(users["porteur"], deploying, date="2024-06-30")
    rows = list(UsageMeasurement.objects.filter(dossier=deploying))
    rows[0].eprescription_imports, rows[0].people_accompanied = 7, 3  # a count shown, rates under the secret
    assert len(rows) == 6
    expected = Template(MEASUREMENT_LOOP).render(Context({"measurements": rows}))
    assert same(dossier_rows.measurement_rows(rows)) == same(expected)
    assert "secret statistique" in expected and "non atteintes : U-ACTIVE" in expected


def test_the_withdrawal_select_is_djangos():
    class Templated(WithdrawForm):
        finess_et = forms.ChoiceField(label="ESSMS qui quitte la grappe", choices=[])

    essms = ["350000001", "350000002", "2A0000003"]
    assert str(WithdrawForm(initial={"version": 3}, essms=essms)) == str(Templated(initial={"version": 3}, essms=essms))
    data = {"version": 3, "finess_et": "350000002", "reason": ""}
    chosen = str(WithdrawForm(data, essms=essms))
    assert chosen == str(Templated(data, essms=essms)) and 'value="350000002" selected' in chosen


def test_the_calculation_detail_is_the_templates_and_follows_the_grappe(users):  # noqa: F811
    porteur = users["porteur"]
    dossier = create_dossier(porteur, "Grappe", "2024", grappe(3))
    client = client_for(porteur)
    page = client.get(f"/dossiers/{dossier.reference}/").content.decode()
    detail = render_to_string(
        "www/_result.html",
        {"result": dossier.result, "result_title": "Résultat de la grappe", "desk_label": "régional (ARS)"},
    )
    assert same(detail) in same(page)
    assert f'<strong id="essms-count">{dossier.result["essms_count"]}</strong>' in page
    update_grappe(porteur, dossier, dossier.version, "Grappe", grappe(5))
    dossier.refresh_from_db()
    assert dossier.result["essms_count"] == 5
    page = client.get(f"/dossiers/{dossier.reference}/").content.decode()
    assert '<strong id="essms-count">5</strong>' in page


def test_the_trajectory_by_essms_shows_the_latest_dates_that_fit(users, deploying, monkeypatch):  # noqa: F811
    measure(users["porteur"], deploying, date="2024-05-31", rate=0.5)
    measure(users["porteur"], deploying, date="2024-06-30")
    monkeypatch.setattr(dossier_views, "MEASUREMENT_ROWS_SHOWN", 4)  # 3 ESSMS a date: one date fits
    ars = client_for(users["ars"])
    page = ars.get(f"/dossiers/{deploying.reference}/").content.decode()
    table = page[page.index('id="measurements"') :].split("</table>")[0]
    assert "mesures de la dernière date (3 sur 6)" in table
    assert table.count("<tr data-finess") == 3 and "30/06/2024" in table and "31/05/2024" not in table
    assert 'href="?mesures=toutes#measurements">Afficher toutes les mesures (6)' in page
    project = page[page.index('id="project-trajectory"') :].split("</table>")[0]
    assert project.count("<tr data-date") == 2  # the project's trajectory keeps every date
    everything = ars.get(f"/dossiers/{deploying.reference}/?mesures=toutes").content.decode()
    table = everything[everything.index('id="measurements"') :].split("</table>")[0]
    assert table.count("<tr data-finess") == 6 and "31/05/2024" in table and "sur 6" not in table
    assert 'id="all-measurements"' not in everything
    monkeypatch.setattr(dossier_views, "MEASUREMENT_ROWS_SHOWN", 200)
    caching.dossier_pages().clear()  # a constant of the code, which a deployment changes with a new process
    page = ars.get(f"/dossiers/{deploying.reference}/").content.decode()
    assert page.count('<tr data-finess="') - len(deploying.grappe["essms"]) == 6  # all fit: every measurement


def test_new_measurements_show_at_once(users, deploying):  # noqa: F811
    ars = client_for(users["ars"])
    url = f"/dossiers/{deploying.reference}/"
    measure(users["porteur"], deploying, date="2024-05-31", rate=0.5)
    page = ars.get(url).content.decode()
    assert "cibles non atteintes" in page and "30/06/2024" not in page
    assert ars.get(url).content.decode().count("<tr data-finess") == page.count("<tr data-finess")  # from the cache
    measure(users["porteur"], deploying, date="2024-06-30")
    page = ars.get(url).content.decode()
    status = page[page.index('id="measurement-status"') :].split("</p>")[0]
    assert "30/06/2024" in status and "toutes les cibles sont atteintes" in status
    assert page.count('<tr data-date="') == 2


def test_the_chart_options_are_the_templates():
    loop = (
        '{% for finess in measured_essms %}<option value="{{ finess }}"{% if finess == chart_essms %} selected'
        "{% endif %}>ESSMS {{ finess }}</option>{% endfor %}"
    )
    measured = ["350000001", "350000002", "2A0000003"]
    for chosen in ("", "350000002"):
        expected = Template(loop).render(Context({"measured_essms": measured, "chart_essms": chosen}))
        assert dossier_rows.essms_options(measured, chosen) == expected


def test_the_lists_after_the_decision_show_once_they_have_rows(users):  # noqa: F811
    from esms_numerique.dossiers.changes import withdraw_essms
    from tests.dossiers.conftest import GRAPPE_FINESS, paid_through_request
    from tests.dossiers.test_after_decision import conventioned

    porteur, ars = users["porteur"], users["ars"]
    dossier = paid_through_request(porteur, ars, conventioned(users, count=4))
    client = client_for(ars)
    url = f"/dossiers/{dossier.reference}/"
    page = client.get(url).content.decode()
    assert 'id="grappe-versions"' not in page and 'id="recoveries"' not in page
    assert 'class="fr-card fr-mb-2w fr-p-2w payment-request"' in page
    assert f'<option value="{GRAPPE_FINESS[3]}">' in page  # the withdrawal form, kept in the cache
    version = dossier.version
    assert f'name="version" value="{version}"' in page
    dossier = withdraw_essms(ars, dossier, dossier.version, GRAPPE_FINESS[3], "Fermeture.")
    page = client.get(url).content.decode()
    # The withdrawal form follows the grappe and the version: a new markup, never the cached one of before.
    withdraw = page[page.index('id="withdraw-form"') :].split("</form>")[0]
    assert f'name="version" value="{dossier.version}"' in withdraw and dossier.version != version
    assert GRAPPE_FINESS[3] not in withdraw and GRAPPE_FINESS[0] in withdraw
    for finess in GRAPPE_FINESS[1:3]:
        dossier = withdraw_essms(ars, dossier, dossier.version, finess, "Fermeture.")
    page = client.get(url).content.decode()
    versions = page[page.index('id="grappe-versions"') :].split("</table>")[0]
    assert versions.count("<tr><td>v") == 4 and "Fermeture." in versions
    recoveries = page[page.index('id="recoveries"') :].split("</table>")[0]
    assert "21\u202f000 €" in recoveries
