"""Measurements on the platform: uploaded by the porteur, checked against the dossier, targets re-evaluated."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from esms_numerique.dossiers.services import DossierError, apply_transition, create_dossier
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.indicators.services import MeasurementError, final_status, funded_essms, record_measurements

from .conftest import attach_pieces, grappe, measure, measurements, paid_through_request, through_committee

pytestmark = pytest.mark.django_db
# The platform's date once the dossier is in deployment (its convention is signed on 11/03/2024).
LATER = "2024-08-31"


def rates_of(counts: dict) -> dict:
    """The rates the counts give, written here from docs/indicateurs.md to check the platform's, rounded to 6
    decimals as `esms indicateurs calculer` rounds them."""

    def ratio(numerator: str, denominator: str) -> float:
        return round(counts[numerator] / counts[denominator], 6) if counts[denominator] else 0.0

    return {
        "active_rate": ratio("active_dossiers", "people_accompanied"),
        "pp_rate": ratio("active_with_pp", "active_dossiers"),
        "agenda_rate": ratio("active_with_event", "active_dossiers"),
        "mss_rate": ratio("mss_messages", "people_accompanied"),
        "dmp_rate": ratio("dmp_people_fed", "people_accompanied"),
    }


def recount(measure_: dict, **counts) -> None:
    """Changes counts of one ESSMS's measure and declares the rates they give."""
    measure_.update(counts)
    measure_.update(rates_of(measure_))


@pytest.fixture
def deploying(users, settings):
    porteur, ars = users["porteur"], users["ars"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(3)))
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    for name in ("engager", "signer_convention"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = paid_through_request(porteur, ars, dossier)
    dossier = apply_transition(porteur, dossier, "demarrer_deploiement", dossier.version)
    settings.ESMS_TODAY = LATER
    return dossier


def test_targets_are_re_evaluated_and_unmet_ones_hold_the_balance(users, deploying):
    data = measurements(deploying, rate=0.95)
    recount(data["essms"][next(iter(data["essms"]))], active_with_pp=19)  # U-PP at 50 %
    for measure_ in data["essms"].values():
        measure_["targets_met"] = {"U-PP": True}  # the uploaded verdicts are not trusted
    record_measurements(users["porteur"], deploying, data)
    status = final_status(deploying)
    assert not status["all_met"] and list(status["unmet"].values()) == [["U-PP"]]
    with pytest.raises(DossierError, match="Cibles non atteintes à la mesure du 30/06/2024"):
        apply_transition(users["ars"], deploying, "enregistrer_cibles", deploying.version)
    deploying = measure(users["porteur"], deploying, date="2024-07-31")
    assert final_status(deploying)["all_met"]
    deploying = apply_transition(users["ars"], deploying, "enregistrer_cibles", deploying.version)
    assert deploying.targets_met_on.isoformat() == "2024-07-31"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["essms"].update({"750000101": d["essms"][next(iter(d["essms"]))]}),
            "750000101 : n'appartient pas",
        ),
        (lambda d: d.update(measurement_date="30/06/2024"), "champ « measurement_date » : date AAAA-MM-JJ attendue"),
        (lambda d: recount(next(iter(d["essms"].values())), active_with_pp=39), "plus de 100 %"),
        (lambda d: next(iter(d["essms"].values())).pop("dmp_rate"), "champ « dmp_rate » : un taux est attendu"),
    ],
)
def test_bad_results_are_refused_whole(users, deploying, change, message):
    data = measurements(deploying)
    change(data)
    with pytest.raises(MeasurementError, match=message):
        record_measurements(users["porteur"], deploying, data)
    assert not UsageMeasurement.objects.exists()


def test_only_the_porteur_uploads_and_only_once_per_date(users, deploying):
    with pytest.raises(PermissionDenied):
        record_measurements(users["ars"], deploying, measurements(deploying))
    measure(users["porteur"], deploying)
    with pytest.raises(MeasurementError, match=r"Des mesures du 30/06/2024 sont déjà enregistrées .* rien de nouveau"):
        record_measurements(users["porteur"], deploying, measurements(deploying))


def test_upload_page(users, deploying):
    client = Client()
    client.force_login(users["porteur"])
    url = f"/dossiers/{deploying.reference}/mesures/"
    upload = SimpleUploadedFile("resultat.json", json.dumps(measurements(deploying)).encode(), "application/json")
    page = client.post(url, {"result": upload}, follow=True).content.decode()
    assert "3 mesure(s) d&#x27;usage enregistrée(s) (30/06/2024)." in page
    assert 'id="measurements"' in page and "95 %" in page
    bad = SimpleUploadedFile("resultat.json", b"{pas du json", "application/json")
    page = client.post(url, {"result": bad}, follow=True).content.decode()
    assert "Mesures refusées, rien n&#x27;est enregistré : JSON illisible" in page


def test_follow_up_page_and_export(users, deploying):
    measure(users["porteur"], deploying)
    ars = Client()
    ars.force_login(users["ars"])
    page = ars.get("/suivi/").content.decode()
    # The ARS reads its region as its contribution to the national target (DECISION D-FOLLOW-UP-REGION).
    assert "DUI actifs en Bretagne : 114" in page  # 3 ESSMS × 38 active dossiers
    assert "cible <strong>nationale</strong> de 410\u202f000 DUI actifs :\n      0,03\u00a0%" in page  # 0,0278 %
    assert '<tr data-region="53"><td>Bretagne</td><td>114</td></tr>' in page
    for name, expected in (("dui-actifs", ["Bretagne", "114"]), ("enveloppe", ["63\u202f000 €", "31\u202f500 €"])):
        chart = ars.get(f"/suivi/graphique-{name}.svg")
        assert chart["Content-Type"] == "image/svg+xml; charset=utf-8"
        assert all(text in chart.content.decode() for text in expected), name
    assert ars.get("/suivi/graphique-autre.svg").status_code == 404
    assert "Bretagne" in page and 'data-region="53"' in page
    export = ars.get("/suivi/export.csv").content.decode("utf-8-sig")
    assert export.splitlines()[1] == "53;Bretagne;114;63000;31500"
    assert ars.get("/suivi/export.ods").status_code == 404
    other = Client()
    other.force_login(users["autre_ars"])
    assert "DUI actifs en Île-de-France : 0" in other.get("/suivi/").content.decode()
    assert "Bretagne" not in other.get("/suivi/graphique-enveloppe.svg").content.decode()
    porteur = Client()
    porteur.force_login(users["porteur"])
    assert porteur.get("/suivi/").status_code == 403
    assert porteur.get("/suivi/graphique-dui-actifs.svg").status_code == 403


def test_measurements_through_the_api(users, deploying):
    url = f"/api/dossiers/{deploying.reference}/measurements"
    porteur = Client()
    porteur.force_login(users["porteur"])
    ok = porteur.post(url, measurements(deploying), content_type="application/json")
    assert ok.json() == {
        "recorded": 3,
        "dates": ["2024-06-30"],
        "kept": [],
        "all_targets_met": True,
        "measurement_date": "2024-06-30",
    }
    bad = porteur.post(
        url, measurements(deploying, date="2024-07-31", finess=["750000101"]), content_type="application/json"
    )
    assert bad.status_code == 400 and "n'appartient pas" in bad.json()["errors"][0]
    ars = Client()
    ars.force_login(users["ars"])
    assert ars.post(url, measurements(deploying, date="2024-08-31"), content_type="application/json").status_code == 403


def monthly(dossier, ends: list[str], rate: float = 0.95) -> dict:
    """A result with its monthly series (D-USAGE-SERIES): the main measure on the last month end, over 3 months."""
    data = measurements(dossier, date=ends[-1], rate=rate)
    data["monthly"] = []
    for n, end in enumerate(ends):
        month = measurements(dossier, date=end, rate=rate)
        month["window_start"] = "2024-02-01" if n == 0 else end[:8] + "01"
        data["monthly"].append(month)
    return data


def test_a_monthly_series_is_recorded_then_only_new_months_are_added(users, deploying):
    porteur = users["porteur"]
    recorded = record_measurements(porteur, deploying, monthly(deploying, ["2024-04-30", "2024-05-31", "2024-06-30"]))
    assert [d.isoformat() for d in recorded.dates] == ["2024-04-30", "2024-05-31", "2024-06-30"]
    assert len(recorded.rows) == 9 and recorded.kept == []
    # On 30/06 the main measure (window of 3 months) wins over the series' month of June.
    june = UsageMeasurement.objects.filter(measurement_date="2024-06-30")
    assert {m.window_start.isoformat() for m in june} == {"2024-04-01"}
    # Next month the OG sends the whole series again: only July is new, the rest is kept as it was.
    again = monthly(deploying, ["2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31"], rate=0.5)
    recorded = record_measurements(porteur, deploying, again)
    assert [d.isoformat() for d in recorded.dates] == ["2024-07-31"]
    assert [d.isoformat() for d in recorded.kept] == ["2024-04-30", "2024-05-31", "2024-06-30"]
    assert "déjà enregistrées, laissées telles quelles : 30/04/2024, 31/05/2024, 30/06/2024" in recorded.message()
    assert UsageMeasurement.objects.count() == 12
    assert {m.active_rate for m in UsageMeasurement.objects.filter(measurement_date="2024-05-31")} == {0.95}
    from esms_numerique.audit.models import AuditEntry

    entry = AuditEntry.objects.filter(action="record_measurements").latest("id")
    assert entry.after["dates"] == ["2024-07-31"] and len(entry.after["kept"]) == 3
    with pytest.raises(MeasurementError, match="rien de nouveau"):
        record_measurements(porteur, deploying, again)


def test_a_bad_month_in_the_series_refuses_the_whole_file(users, deploying):
    data = monthly(deploying, ["2024-04-30", "2024-05-31", "2024-06-30"])
    data["monthly"][1]["essms"]["750000101"] = data["monthly"][1]["essms"][funded_essms(deploying)[0]]
    with pytest.raises(MeasurementError, match="750000101 : n'appartient pas"):
        record_measurements(users["porteur"], deploying, data)
    data = monthly(deploying, ["2024-04-30", "2024-05-31"])
    data["monthly"][0]["window_end"] = "2024-04-29"
    with pytest.raises(MeasurementError, match="mesure du 30/04/2024 : la fenêtre doit finir à la date de mesure"):
        record_measurements(users["porteur"], deploying, data)
    assert not UsageMeasurement.objects.exists()


def test_the_result_of_the_cli_is_recorded_as_it_is(users, deploying, tmp_path):
    """End to end: an OG's export, `esms indicateurs calculer` with its series and optional counts, the upload."""
    import datetime as dt

    from esms_numerique.indicators.compute import Targets, compute_indicators

    a, b, c = funded_essms(deploying)
    files = {
        "dossiers": "dossier_id,finess_et,person_id,admission_date,exit_date,exit_type,last_updated_at\n"
        f"d1,{a},p1,2023-01-01,,,2024-06-10\nd2,{b},p2,2023-01-01,,,2024-05-10\nd3,{c},p3,2023-01-01,,,2024-06-20\n",
        "projets_personnalises": "dossier_id,pp_date\nd1,2023-02-01\nd2,2023-02-01\nd3,2023-02-01\n",
        "agenda": "dossier_id,event_date\nd1,2024-06-01\nd2,2024-05-01\nd3,2024-06-02\n",
        "mssante": f"finess_et,message_id,sent_at\n{a},m1,2024-06-03\n{c},m2,2024-06-04\n",
        "dmp": "dossier_id,fed_at\nd1,2024-06-05\nd3,2024-06-06\n",
        "eprescription": "dossier_id,imported_at\nd1,2024-06-07\nd1,2024-06-08\n",
    }
    for name, content in files.items():
        (tmp_path / f"{name}.csv").write_text(content, encoding="utf-8")
    targets = Targets(active_rate=0.9, pp_rate=0.9, agenda_rate=0.9, mss_rate=0.7, dmp_rate=0.7)
    result = compute_indicators(
        tmp_path, dt.date(2024, 6, 30), targets, 3, monthly_from=dt.date(2024, 5, 1), series_window_months=1
    )
    result = json.loads(json.dumps(result))  # as the file the porteur uploads
    recorded = record_measurements(users["porteur"], deploying, result)
    assert [d.isoformat() for d in recorded.dates] == ["2024-05-31", "2024-06-30"]
    june = {m.finess_et: m for m in UsageMeasurement.objects.filter(measurement_date="2024-06-30")}
    assert (june[a].active_rate, june[a].eprescription_imports, june[a].eparcours_exchanges) == (1.0, 2, None)
    assert june[a].all_met and june[c].all_met
    # b sent no message and fed no DMP: its socle targets are missed, so is the balance.
    assert june[b].unmet_rules == ["U-MSS", "U-DMP"]
    assert final_status(deploying)["unmet"] == {b: ["U-MSS", "U-DMP"]}
    may = {m.finess_et: m for m in UsageMeasurement.objects.filter(measurement_date="2024-05-31")}
    # In May alone (1-month window), only d2 was updated and nobody's DMP was fed.
    assert (may[b].active_rate, may[a].active_rate, may[b].dmp_rate) == (1.0, 0.0, 0.0)
    assert not may[b].targets_met["U-DMP"]


def test_trajectory_table_and_chart_weigh_each_essms(users, deploying):
    b = funded_essms(deploying)[1]
    data = measurements(deploying)
    counts = {"active_with_pp": 0, "active_with_event": 5, "mss_messages": 10, "dmp_people_fed": 10}
    recount(data["essms"][b], people_accompanied=10, active_dossiers=5, **counts)
    record_measurements(users["porteur"], deploying, data)
    measure(users["porteur"], deploying, date="2024-07-31")
    porteur = Client()
    porteur.force_login(users["porteur"])
    page = porteur.get(f"/dossiers/{deploying.reference}/").content.decode()
    # Active: (38 + 5 + 38) ÷ 90 = 90 %; PP: (36 + 0 + 36) ÷ 81 = 89 %; agenda: (36 + 5 + 36) ÷ 81 = 95 %.
    june = page[page.index('data-date="2024-06-30"') :].split("</tr>")[0]
    assert "<td>3</td><td>90 %</td><td>89 %</td><td>95 %</td>" in june
    july = page[page.index('data-date="2024-07-31"') :].split("</tr>")[0]
    assert "<td>95 %</td><td>95 %</td><td>95 %</td>" in july
    assert "U-ACTIVE 90 % ; U-PP 90 % ; U-AGENDA 90 % ; U-MSS 70 % ; U-DMP 70 %" in page
    assert "non atteintes : U-ACTIVE, U-PP" in page
    svg = porteur.get(f"/dossiers/{deploying.reference}/trajectoire.svg")
    assert svg["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert "default-src 'none'" in svg["Content-Security-Policy"]
    text = svg.content.decode()
    assert text.startswith("<svg") and f"Projet {deploying.reference}" in text
    assert "30/06/2024" in text and "31/07/2024" in text
    assert "cible U-ACTIVE, U-PP, U-AGENDA (90 %)" in text and "cible U-MSS, U-DMP (70 %)" in text
    one = porteur.get(f"/dossiers/{deploying.reference}/trajectoire.svg?essms={b}").content.decode()
    assert f"ESSMS {b}" in one
    assert porteur.get(f"/dossiers/{deploying.reference}/trajectoire.svg?essms=750000101").status_code == 404
    page = porteur.get(f"/dossiers/{deploying.reference}/?essms={b}").content.decode()
    assert f"trajectoire.svg?essms={b}" in page
    other = Client()
    other.force_login(users["autre_ars"])
    assert other.get(f"/dossiers/{deploying.reference}/trajectoire.svg").status_code == 404


def test_follow_up_workbook(users, deploying):
    import io

    from openpyxl import load_workbook

    data = measurements(deploying)
    b = funded_essms(deploying)[1]
    recount(data["essms"][b], dmp_people_fed=20)
    record_measurements(users["porteur"], deploying, data)
    ars = Client()
    ars.force_login(users["ars"])
    response = ars.get("/suivi/export.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Régions", "Projets à risque", "Dernières mesures"]
    regions = list(workbook["Régions"].values)
    assert regions == [
        ("Région", "Nom", "DUI actifs (dernière mesure)", "Montant engagé (€)", "Montant versé (€)"),
        ("53", "Bretagne", 114, 63000, 31500),
    ]
    risks = list(workbook["Projets à risque"].values)
    assert risks[1][0] == deploying.reference and risks[1][4] == "cibles non atteintes"
    assert risks[1][6] == f"{b} (U-DMP)"
    rows = list(workbook["Dernières mesures"].values)
    assert len(rows) == 4 and rows[0][7:] == (
        "U-ACTIVE (taux)",
        "U-PP (taux)",
        "U-AGENDA (taux)",
        "U-MSS (taux)",
        "U-DMP (taux)",
        "Cibles atteintes",
    )
    by_finess = {row[1]: row for row in rows[1:]}
    assert by_finess[b][11:] == (0.5, "non") and by_finess[b][2].date().isoformat() == "2024-06-30"
    porteur = Client()
    porteur.force_login(users["porteur"])
    assert porteur.get("/suivi/export.xlsx").status_code == 403


def test_projects_at_risk_as_their_deadline_nears(users, deploying, settings):
    """D-AT-RISK: flagged from 60 days (follow_up.at_risk_days) before the deployment deadline, then overdue."""
    import datetime as dt

    from esms_numerique.dossiers.models import Dossier
    from esms_numerique.dossiers.services import deadline
    from esms_numerique.indicators.dashboard import at_risk

    due = deadline(deploying)["due"]
    for days_before, reason in ((61, None), (60, "échéance proche"), (-1, "échéance dépassée")):
        settings.ESMS_TODAY = (due - dt.timedelta(days=days_before)).isoformat()
        rows = at_risk(Dossier.objects.all())
        assert [row["reason"] for row in rows] == ([reason] if reason else []), days_before


# The platform's date and the convention bound every measure of a file, the series' months too (D-USAGE-CHECKS).


def test_a_measure_dated_after_the_platform_s_today_is_refused(users, deploying, settings):
    settings.ESMS_TODAY = "2024-06-29"
    with pytest.raises(MeasurementError) as refused:
        record_measurements(users["porteur"], deploying, measurements(deploying, date="2024-06-30"))
    assert str(refused.value) == (
        "mesure du 30/06/2024 : date postérieure à la date du jour de la plateforme (29/06/2024)"
    )
    assert not UsageMeasurement.objects.exists()
    settings.ESMS_TODAY = "2024-06-30"  # on the day itself, it is accepted
    assert len(record_measurements(users["porteur"], deploying, measurements(deploying)).rows) == 3


def test_a_measure_dated_before_the_convention_is_refused(users, deploying):
    assert deploying.convention_signed_on.isoformat() == "2024-03-11"
    data = measurements(deploying, date="2024-02-29")
    data["window_start"] = "2023-12-01"
    with pytest.raises(MeasurementError) as refused:
        record_measurements(users["porteur"], deploying, data)
    assert str(refused.value) == (
        "mesure du 29/02/2024 : date antérieure à la signature de la convention du dossier (11/03/2024)"
    )
    assert not UsageMeasurement.objects.exists()


@pytest.mark.parametrize(
    ("ends", "message"),
    [
        (
            ["2024-02-29", "2024-03-31", "2024-04-30"],
            "mesure du 29/02/2024 : date antérieure à la signature de la convention du dossier (11/03/2024)",
        ),
        (
            ["2024-06-30", "2024-07-31", "2024-08-31", "2024-09-30"],
            "mesure du 30/09/2024 : date postérieure à la date du jour de la plateforme (31/08/2024)",
        ),
    ],
)
def test_a_month_of_the_series_out_of_bounds_refuses_the_whole_file(users, deploying, ends, message):
    data = monthly(deploying, ends)
    data.update({k: v for k, v in measurements(deploying, date="2024-06-30").items() if k != "monthly"})
    with pytest.raises(MeasurementError) as refused:
        record_measurements(users["porteur"], deploying, data)
    assert str(refused.value) == message
    assert not UsageMeasurement.objects.exists()


def test_rates_are_recomputed_from_the_counts(users, deploying):
    data = measurements(deploying)
    a = funded_essms(deploying)[0]
    counts = {"active_with_pp": 5, "active_with_event": 6, "mss_messages": 3, "dmp_people_fed": 7}
    recount(data["essms"][a], people_accompanied=7, active_dossiers=6, **counts)
    data["essms"][a]["active_rate"] = 6 / 7  # unrounded: it agrees with the counts, the rounded rate is stored
    record_measurements(users["porteur"], deploying, data)
    stored = UsageMeasurement.objects.get(finess_et=a)
    assert (stored.active_rate, stored.pp_rate, stored.mss_rate) == (0.857143, 0.833333, 0.428571)
    assert stored.targets_met == {"U-ACTIVE": False, "U-PP": False, "U-AGENDA": True, "U-MSS": False, "U-DMP": True}


def test_a_declared_rate_that_the_counts_do_not_give_is_refused(users, deploying):
    data = measurements(deploying, rate=0.5)
    a = funded_essms(deploying)[0]
    data["essms"][a]["pp_rate"] = 0.95  # 10 of 20 active dossiers have a PP: 0,5, not 0,95
    with pytest.raises(MeasurementError) as refused:
        record_measurements(users["porteur"], deploying, data)
    assert str(refused.value) == (
        f"mesure du 30/06/2024, FINESS ET {a}, champ « pp_rate » (U-PP) : taux déclaré 0,95, les comptes donnent "
        "0,5 ; la plateforme recalcule chaque taux à partir des comptes et refuse un taux qui ne leur correspond pas"
    )
    assert not UsageMeasurement.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("people_accompanied", float("nan"), "NaN"),
        ("active_dossiers", float("inf"), "Infinity"),
        ("active_with_pp", -1, "-1"),
        ("mss_messages", 2.5, "2.5"),
        ("dmp_people_fed", "12", '"12"'),
        ("eprescription_imports", -3, "-3"),
        ("active_with_event", None, "null"),
    ],
)
def test_a_count_that_is_not_a_whole_number_is_refused(users, deploying, field, value, shown):
    data = measurements(deploying)
    a = funded_essms(deploying)[0]
    data["essms"][a][field] = value
    with pytest.raises(MeasurementError) as refused:
        record_measurements(users["porteur"], deploying, data)
    assert str(refused.value) == (
        f"mesure du 30/06/2024, FINESS ET {a}, champ « {field} » : un nombre entier positif ou nul est attendu "
        f"(reçu {shown})"
    )
    assert not UsageMeasurement.objects.exists()


def test_a_count_too_large_for_the_database_is_refused(users, deploying):
    data = measurements(deploying)
    a = funded_essms(deploying)[0]
    data["essms"][a]["mss_messages"] = 10**400
    with pytest.raises(MeasurementError, match=f"FINESS ET {a}, champ « mss_messages » : 1000.* dépasse le plus grand"):
        record_measurements(users["porteur"], deploying, data)
    assert not UsageMeasurement.objects.exists()


def test_a_rate_that_is_not_a_number_is_refused(users, deploying):
    data = measurements(deploying)
    a = funded_essms(deploying)[0]
    data["essms"][a]["dmp_rate"] = float("nan")
    with pytest.raises(MeasurementError, match=f"FINESS ET {a}, champ « dmp_rate » : un taux est attendu"):
        record_measurements(users["porteur"], deploying, data)
    assert not UsageMeasurement.objects.exists()


def test_bad_counts_and_dates_through_the_api_and_the_upload_page(users, deploying, settings):
    url = f"/api/dossiers/{deploying.reference}/measurements"
    porteur = Client()
    porteur.force_login(users["porteur"])
    a = funded_essms(deploying)[0]
    text = json.dumps(measurements(deploying)).replace('"people_accompanied": 40', '"people_accompanied": NaN', 1)
    bad = porteur.post(url, text, content_type="application/json")
    assert bad.status_code == 400
    # The API's JSON reader refuses NaN before the measurement is read (DECISION D-LIMITS).
    assert bad.json()["errors"] == [
        f"champ « essms.{a}.people_accompanied » : nombre fini attendu (ni NaN ni Infinity), reçu NaN"
    ]
    settings.ESMS_TODAY = "2024-06-15"
    late = porteur.post(url, measurements(deploying), content_type="application/json")
    assert late.status_code == 400
    assert late.json()["errors"] == [
        "mesure du 30/06/2024 : date postérieure à la date du jour de la plateforme (15/06/2024)"
    ]
    upload = SimpleUploadedFile("resultat.json", json.dumps(measurements(deploying)).encode(), "application/json")
    page = porteur.post(f"/dossiers/{deploying.reference}/mesures/", {"result": upload}, follow=True)
    assert "date postérieure à la date du jour de la plateforme (15/06/2024)" in page.content.decode()
    assert not UsageMeasurement.objects.exists()
