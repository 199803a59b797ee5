"""Measurements on the platform: uploaded by the porteur, checked against the dossier, targets re-evaluated."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from esms_numerique.dossiers.services import DossierError, apply_transition, create_dossier
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.indicators.services import MeasurementError, final_status, record_measurements

from .conftest import attach_pieces, grappe, measure, measurements, through_committee

pytestmark = pytest.mark.django_db


@pytest.fixture
def deploying(users):
    porteur, ars = users["porteur"], users["ars"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe", "2024", grappe(3)))
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    dossier = through_committee(ars, dossier)
    for name in ("engager", "signer_convention", "verser_avance"):
        dossier = apply_transition(ars, dossier, name, dossier.version)
    return apply_transition(porteur, dossier, "demarrer_deploiement", dossier.version)


def test_targets_are_re_evaluated_and_unmet_ones_hold_the_balance(users, deploying):
    data = measurements(deploying, rate=0.95)
    data["essms"][next(iter(data["essms"]))]["pp_rate"] = 0.5
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
        (lambda d: next(iter(d["essms"].values())).update(active_rate=95), "hors des bornes"),
        (lambda d: next(iter(d["essms"].values())).pop("dmp_rate"), "mesure incomplète"),
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
    with pytest.raises(MeasurementError, match="déjà enregistrées"):
        record_measurements(users["porteur"], deploying, measurements(deploying))


def test_upload_page(users, deploying):
    client = Client()
    client.force_login(users["porteur"])
    url = f"/dossiers/{deploying.reference}/mesures/"
    upload = SimpleUploadedFile("resultat.json", json.dumps(measurements(deploying)).encode(), "application/json")
    page = client.post(url, {"result": upload}, follow=True).content.decode()
    assert "3 mesure(s) d&#x27;usage enregistrée(s)" in page
    assert 'id="measurements"' in page and "95 %" in page
    bad = SimpleUploadedFile("resultat.json", b"{pas du json", "application/json")
    page = client.post(url, {"result": bad}, follow=True).content.decode()
    assert "Mesures refusées, rien n&#x27;est enregistré : JSON illisible" in page


def test_follow_up_page_and_export(users, deploying):
    measure(users["porteur"], deploying)
    ars = Client()
    ars.force_login(users["ars"])
    page = ars.get("/suivi/").content.decode()
    assert "DUI actifs : 114 sur 410000 visés" in page  # 3 ESSMS × 38 active dossiers
    assert "Bretagne" in page and 'data-region="53"' in page
    export = ars.get("/suivi/export.csv").content.decode("utf-8-sig")
    assert export.splitlines()[1] == "53;114;63000;31500"
    other = Client()
    other.force_login(users["autre_ars"])
    assert "DUI actifs : 0 sur 410000" in other.get("/suivi/").content.decode()
    porteur = Client()
    porteur.force_login(users["porteur"])
    assert porteur.get("/suivi/").status_code == 403


def test_measurements_through_the_api(users, deploying):
    url = f"/api/dossiers/{deploying.reference}/measurements"
    porteur = Client()
    porteur.force_login(users["porteur"])
    ok = porteur.post(url, measurements(deploying), content_type="application/json")
    assert ok.json() == {"recorded": 3, "all_targets_met": True, "measurement_date": "2024-06-30"}
    bad = porteur.post(
        url, measurements(deploying, date="2024-07-31", finess=["750000101"]), content_type="application/json"
    )
    assert bad.status_code == 400 and "n'appartient pas" in bad.json()["errors"][0]
    ars = Client()
    ars.force_login(users["ars"])
    assert ars.post(url, measurements(deploying, date="2024-08-31"), content_type="application/json").status_code == 403
