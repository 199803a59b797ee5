"""`esms demo load --scale national`, reduced (`--dossiers`): it loads what the services would have written, and the
lists and dashboards run as many SQL queries with 140 dossiers as with 44 (no N+1: issue 16)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esms_numerique.audit.services import verify_chain
from esms_numerique.demo_national import import_registry, load_dossiers, national_registry
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Committee, Dossier
from esms_numerique.dossiers.services import create_dossier
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.ledger.models import FundedEssms
from tests.www.test_query_counts import growth

pytestmark = pytest.mark.django_db
SMALL, LARGE = 44, 140


class Rollback(Exception):
    pass


@pytest.fixture
def registry(tmp_path, settings):
    settings.ESMS_TODAY = "2024-03-11"
    import_registry(national_registry(tmp_path))


def pages_of(username: str, region: str, who: str) -> dict[str, list[str]]:
    """The SQL each list and dashboard runs for this user (after a first request that warms the caches)."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    committee = Committee.objects.get(region=region, label__startswith="Comité d'avril")
    found = {}
    for page, url in (
        ("/dossiers/", "/dossiers/"),
        ("/suivi/", "/suivi/"),
        ("/comites/<pk>/", f"/comites/{committee.pk}/"),
    ):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (url, username)
        found[f"{page} ({who})"] = [q["sql"] for q in captured.captured_queries]
    return found


def queries_at(size: int, check) -> dict[str, list[str]]:
    """Loads `size` dossiers, checks them, reads the pages, then rolls everything back."""
    found = {}
    try:
        with transaction.atomic():
            load_dossiers(size)
            check(size)
            # The region whose committee of April has the most dossiers on its agenda or eligible.
            waiting = Dossier.objects.filter(desk="regional", state__in=[State.PRESENTE_COMITE, State.EN_INSTRUCTION])
            busiest = waiting.values("pivot_region").annotate(n=Count("id"))
            region = max(busiest, key=lambda row: (row["n"], row["pivot_region"]))["pivot_region"]
            found |= pages_of(f"instructeur-{region}", region, "ARS")
            found |= pages_of("cnsa", "", "CNSA")
            raise Rollback
    except Rollback:
        pass
    return found


def loaded_as_the_services_would(size: int) -> None:
    assert Dossier.objects.count() == size
    assert set(Dossier.objects.values_list("state", flat=True)) == set(State.values)
    assert Dossier.objects.filter(desk="national").exists()
    assert len(set(Dossier.objects.values_list("pivot_region", flat=True))) >= 10
    # About 25 000 measurements for 1 400 dossiers.
    assert 15 * size <= UsageMeasurement.objects.count() <= 25 * size
    # The ledger holds what was decided, one funding per ESSMS; a few filed dossiers share an ESSMS.
    held = FundedEssms.objects.filter(holds=True)
    assert held.count() == held.values("finess_et").distinct().count() > 0
    decided = Dossier.objects.filter(state__in=[State.RETENU, State.EN_DEPLOIEMENT, State.SOLDE_VERSE])
    assert not FundedEssms.objects.filter(dossier__in=decided, fundable=True, holds=False).exists()
    assert verify_chain() == []
    # The references go on from the last one.
    porteur = Dossier.objects.select_related("created_by").first().created_by
    grappe = {"porteur": {"finess_ej": porteur.profile.legal_entity.finess_ej}, "essms": []}
    assert create_dossier(porteur, "Après la démonstration", "2024", grappe).reference == f"ESMS-2024-{size + 1:05d}"
    assert "Des dossiers existent déjà" in load_dossiers(size)[0]


def test_the_national_demo_loads_and_the_lists_query_as_much_at_any_size(registry):
    small = queries_at(SMALL, lambda size: None)
    large = queries_at(LARGE, loaded_as_the_services_would)
    for page, queries in small.items():
        print(f"{page} : {len(queries)} requêtes avec {SMALL} dossiers, {len(large[page])} avec {LARGE}")
    for page, queries in small.items():
        assert len(large[page]) == len(queries), f"{page}\n{growth(queries, large[page])}"


def test_the_command_loads_a_reduced_national_demo(tmp_path, settings):
    settings.ESMS_TODAY = "2024-03-11"
    from esms_numerique.cli import main

    result = CliRunner().invoke(
        main, ["demo", "load", "--scale", "national", "--dossiers", "30", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "30 dossiers de démonstration dans" in result.output
    assert Dossier.objects.count() == 30
    result = CliRunner().invoke(main, ["demo", "load", "--dossiers", "30"])
    assert result.exit_code == 2
