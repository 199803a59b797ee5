"""Issue 15: an upload carrying person-level fields is refused, naming them; a rate over fewer people than the
small-count threshold is shown as « secret statistique » but still decides the targets (docs/decisions.md,
D-SMALL-COUNTS)."""

from __future__ import annotations

import datetime as dt
import html
import io
import json

import pytest
from django.test import Client
from openpyxl import load_workbook

from esms_numerique.dossiers.services import apply_transition
from esms_numerique.indicators import demo
from esms_numerique.indicators.compute import Targets, compute_indicators
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.indicators.privacy import refusal
from esms_numerique.indicators.publication import SECRET, small_count_threshold
from esms_numerique.indicators.services import MeasurementError, final_status, rates_from_counts, record_measurements
from esms_numerique.indicators.trajectory import Point, trajectory
from esms_numerique.rules.parameters import default_tree
from esms_numerique.www.charts import trajectory_svg

from .conftest import measurements
from .test_measurements import deploying  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def first(data: dict) -> dict:
    return next(iter(data["essms"].values()))


# ---------------------------------------------------------------------------------------------------------------
# Person-level fields.


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: first(d).update(NIR="185077512345678"), "« NIR » (essms › {f} › NIR)"),
        (lambda d: first(d).update({"Prénom": "Jeanne"}), "« Prénom » (essms › {f} › Prénom)"),
        (lambda d: d.update(nom_usage="DUPONT"), "« nom_usage » (nom_usage)"),
        (
            lambda d: d.update(usagers=[{"date_de_naissance": "1950-01-01"}]),
            "« date_de_naissance » (usagers › 1 › date_de_naissance)",
        ),
        (
            lambda d: first(d).update(identifiant="2850775123456"),
            "une valeur en forme de NIR (essms › {f} › identifiant)",
        ),
    ],
)
def test_an_upload_with_person_level_fields_is_refused_naming_them(users, deploying, change, named):  # noqa: F811
    data = measurements(deploying)
    change(data)
    finess = next(iter(data["essms"]))
    with pytest.raises(MeasurementError) as refused:
        record_measurements(users["porteur"], deploying, data)
    message = str(refused.value)
    assert message.startswith("Dépôt refusé, rien n'est enregistré — données individuelles : ")
    assert named.format(f=finess) in message
    assert "jamais de donnée sur une personne" in message
    assert "Jeanne" not in message and "185077512345678" not in message and "DUPONT" not in message
    assert not UsageMeasurement.objects.exists()


def test_an_unknown_field_is_refused_too(users, deploying):  # noqa: F811
    data = measurements(deploying)
    first(data)["commentaire"] = "texte libre"
    data["monthly"] = [measurements(deploying, date="2024-05-31") | {"source": "export"}]
    with pytest.raises(
        MeasurementError, match=r"champs inconnus : « commentaire » .*« source » \(monthly › 1 › source\)"
    ):
        record_measurements(users["porteur"], deploying, data)


def test_through_the_api_and_the_page_the_refusal_is_in_french(users, deploying):  # noqa: F811
    data = measurements(deploying)
    first(data)["nir"] = "185077512345678"
    client = Client()
    client.force_login(users["porteur"])
    api = client.post(f"/api/dossiers/{deploying.reference}/measurements", data, content_type="application/json")
    assert api.status_code == 400 and "données individuelles : « nir »" in api.json()["errors"][0]
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("resultat.json", json.dumps(data).encode(), "application/json")
    page = client.post(f"/dossiers/{deploying.reference}/mesures/", {"result": upload}, follow=True)
    assert "données individuelles : « nir »" in html.unescape(page.content.decode())
    assert not UsageMeasurement.objects.exists()


def test_the_whole_result_of_esms_indicateurs_calculer_is_accepted(tmp_path):
    """No false alarm on what the platform's own command writes: series, file active, totals, definitions."""
    demo.generate(tmp_path, dossiers=200, establishments=3, optional=True)
    result = compute_indicators(
        tmp_path,
        dt.date(2024, 6, 30),
        Targets(active_rate=0.9, pp_rate=0.9, agenda_rate=0.9, mss_rate=0.7, dmp_rate=0.7),
        monthly_from=dt.date(2024, 4, 1),
    )
    assert result["monthly"] and result["file_active"]["essms"] and result["optional_indicators"]
    assert refusal(json.loads(json.dumps(result, default=str))) is None


# ---------------------------------------------------------------------------------------------------------------
# Small counts.


def small(dossier, people: int, date: str = "2024-06-30") -> dict:
    """Every ESSMS with `people` people, all active and all reached: every target met."""
    data = measurements(dossier, date=date)
    counts = dict.fromkeys(
        ("people_accompanied", "active_dossiers", "active_with_pp", "active_with_event", "mss_messages"), people
    ) | {"dmp_people_fed": people}
    for finess in data["essms"]:
        data["essms"][finess] = counts | rates_from_counts(counts)
    return data


def test_the_threshold_is_a_dated_parameter_citing_its_decision():
    parameter = default_tree().get("publication.small_count_threshold")
    value = parameter.in_force(dt.date(2024, 6, 30))
    assert value.value == 11 and value.reference.section == "D-SMALL-COUNTS"
    assert small_count_threshold() == 11


def test_a_small_count_is_recorded_and_decides_the_targets_but_its_rates_are_secret(users, deploying):  # noqa: F811
    record_measurements(users["porteur"], deploying, small(deploying, 3))
    assert set(UsageMeasurement.objects.values_list("people_accompanied", flat=True)) == {3}
    assert final_status(deploying)["all_met"]  # the recorded measure decides, for the balance
    dossier = apply_transition(users["ars"], deploying, "enregistrer_cibles", deploying.version)
    assert dossier.targets_met_on.isoformat() == "2024-06-30"
    # the project: 3 ESSMS × 3 people = 9 < 11
    (point,) = trajectory(dossier)
    assert point.cells == [SECRET] * 5 and point.shown("active_rate") is None and point.rates["active_rate"] == 1.0
    ars = Client()
    ars.force_login(users["ars"])
    page = ars.get(f"/dossiers/{dossier.reference}/").content.decode()
    project = page[page.index('id="project-trajectory"') : page.index('id="measurements"')]
    per_essms = page[page.index('id="measurements"') :]
    assert project.count(SECRET) == 5 and "100 %" not in project
    assert per_essms.count(SECRET) == 15 and "100 %" not in per_essms.split("</table>")[0]
    assert ars.get(f"/dossiers/{dossier.reference}/trajectoire.svg").status_code == 200


@pytest.mark.parametrize(("people", "shown"), [(10, False), (11, True)])
def test_the_chart_leaves_out_a_secret_rate(people, shown):
    names = ("active_rate", "pp_rate", "agenda_rate", "mss_rate", "dmp_rate")
    point = Point(dt.date(2024, 6, 30), dict.fromkeys(names, 0.42), 1, dict.fromkeys(names, people), 11)
    chart = trajectory_svg([point], dict.fromkeys(names, 0.9), "Projet")
    assert ("42 %" in chart) is shown


def test_the_project_publishes_once_its_essms_add_up_to_the_threshold(users, deploying):  # noqa: F811
    record_measurements(users["porteur"], deploying, small(deploying, 4))  # 3 × 4 = 12 people
    (point,) = trajectory(deploying)
    assert point.cells == ["100 %"] * 5
    assert all(rate["percent"] == SECRET for m in UsageMeasurement.objects.all() for rate in m.rates)


def test_the_follow_up_export_hides_small_rates(users, deploying):  # noqa: F811
    data = small(deploying, 3)
    big = measurements(deploying)  # 40 people
    finess = list(data["essms"])
    data["essms"][finess[0]] = first(big)
    record_measurements(users["porteur"], deploying, data)
    ars = Client()
    ars.force_login(users["ars"])
    book = load_workbook(io.BytesIO(ars.get("/suivi/export.xlsx").content))
    rows = {row[1]: row for row in book["Dernières mesures"].iter_rows(min_row=2, values_only=True)}
    assert rows[finess[0]][7:12] == tuple(
        first(big)[name] for name in ("active_rate", "pp_rate", "agenda_rate", "mss_rate", "dmp_rate")
    )
    assert rows[finess[1]][7:12] == (SECRET,) * 5
    assert rows[finess[1]][5] == 3  # the count itself is kept
