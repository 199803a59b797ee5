"""SONS beside ESMS numérique: what an order tells a dossier about the same ESSMS (E-NO-DOUBLE, E-SONS-VA)."""

from __future__ import annotations

import pytest

from esms_numerique.dossiers.services import create_dossier
from esms_numerique.sons.services import record_va

from .conftest import ESSMS, OG
from .test_orders import YES, sign, step

pytestmark = pytest.mark.django_db


def findings(dossier, rule):
    return [(f["verdict"], f.get("finess_et")) for f in dossier.result["findings"] if f["rule"] == rule]


def test_an_order_and_its_va_date_reach_the_dossiers(world, settings):
    settings.ESMS_TODAY = "2023-03-01"
    order = sign(world, ESSMS[:2], ordered_on=__import__("datetime").date(2023, 3, 1))
    for name, who in (("demander_avance", "editeur"), ("verser_avance", "cnsa"), ("declarer_prestation", "editeur")):
        order = step(world[who], order, name)
    for number in ESSMS[:2]:
        record_va(world["og_user"], order, number, YES)
    settings.ESMS_TODAY = "2023-03-20"
    step(world["og_user"], order, "signer_va")

    settings.ESMS_TODAY = "2024-03-11"
    grappe = {
        "porteur": {"finess_ej": OG},
        "solution": {"segur_referenced": True},
        "essms": [
            {"finess_et": ESSMS[0], "operation": "upgrade"},
            {"finess_et": ESSMS[1], "operation": "acquisition"},
            {"finess_et": ESSMS[2], "operation": "upgrade"},
        ],
    }
    dossier = create_dossier(world["og_user"], "Usages", "2024", grappe)
    # VA signed on 20/03/2023, before the end of Q1 2023: no usage funding beside SONS for that ESSMS
    assert ("bloquant", ESSMS[0]) in findings(dossier, "E-SONS-VA")
    # an ESSMS that ordered the Prestation Ségur cannot get acquisition funding for another DUI
    assert ("bloquant", ESSMS[1]) in findings(dossier, "E-NO-DOUBLE")
    assert dossier.result["usage_eur"] == 5000  # only the third ESSMS is funded
