"""Territorial coverage (issue 13, item 5): ESSMS funded (the ledger), proposed (the latest proposal with its
overrides) and never funded, by territory and sector, from the registry; the tile map as SVG; a query count that
does not grow with the dossiers (DECISION D-COVERAGE)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esms_numerique import clock
from esms_numerique.rules.selection import Settings
from esms_numerique.selection import coverage, services

from .conftest import essms, instructed

pytestmark = pytest.mark.django_db


def test_funded_proposed_and_never_funded(users, april):
    """X retained (5 ESSMS of Ille-et-Vilaine), Y and Z proposed (5 each), W left out; then Z taken out."""
    proposal = services.make_proposal(users["ars"], april["committee"], Settings())
    found = coverage.coverage("53", clock.today())
    rows = {row["code"]: row for row in found.territories}
    assert {k: rows["35"][k] for k in ("essms", "funded", "proposed", "never")} == {
        "essms": 20,
        "funded": 5,
        "proposed": 10,
        "never": 5,
    }
    assert (rows["29"]["essms"], rows["29"]["funded"], rows["29"]["never"]) == (1, 0, 1)
    assert found.totals == {"essms": 21, "funded": 5, "proposed": 10, "never": 6, "funded_share": 5 / 21}
    assert sum(row["essms"] for row in found.sectors) == 21 and {row["code"] for row in found.sectors} == {"PA", "PH"}
    services.set_override(users["ars"], proposal, april["Z"], False, "Éditeur non confirmé.")
    assert coverage.coverage("53", clock.today()).totals["proposed"] == 5
    national = coverage.coverage(None, clock.today())
    assert [row["code"] for row in national.territories] == ["53"]
    assert national.regions["53"]["funded"] == 5 and national.regions["53"]["proposed"] == 5
    svg = coverage.map_svg(national)
    assert svg.startswith("<svg") and 'data-region="53"' in svg and "Bretagne : 5 ESSMS financés sur 21" in svg
    assert svg.count("<g data-region=") == 18


def test_the_coverage_page_by_role(users, april):
    services.make_proposal(users["ars"], april["committee"], Settings())
    ars = Client()
    ars.force_login(users["ars"])
    page = ars.get("/selection/couverture/").content.decode()
    assert 'data-territory="35"' in page and "Département" in page and "<svg" in page
    assert "hors de votre périmètre" in page  # the other regions' tiles
    cnsa = Client()
    cnsa.force_login(users["national"])
    page = cnsa.get("/selection/couverture/").content.decode()
    assert 'data-territory="53"' in page and "Région" in page
    for who in ("porteur", "observateur"):
        other = Client()
        other.force_login(users[who])
        assert other.get("/selection/couverture/").status_code == 403


def test_the_coverage_page_queries_do_not_grow_with_dossiers(users, april):
    cnsa = Client()
    cnsa.force_login(users["national"])
    services.make_proposal(users["ars"], april["committee"], Settings())
    with CaptureQueriesContext(connection) as few:
        cnsa.get("/selection/couverture/")
    instructed(users, "V", essms(15, 3))
    instructed(users, "U", essms(17, 3))
    services.make_proposal(users["ars"], april["committee"], Settings())
    with CaptureQueriesContext(connection) as more:
        cnsa.get("/selection/couverture/")
    assert len(more) == len(few) <= 12
