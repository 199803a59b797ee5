"""The follow-up and committee pages' questions, asked set-based (issue 16): the last measures of many dossiers in
one query, and the ledger's conflicts read from its columns and the claimants' references, never a dossier's JSON."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from esms_numerique.indicators import dashboard
from esms_numerique.indicators.services import final_status, final_statuses
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import FundedEssms
from tests.dossiers import conftest as dossiers
from tests.dossiers import test_measurements
from tests.dossiers.conftest import GRAPPE_FINESS, measure, measurements
from tests.dossiers.test_integrity import in_instruction
from tests.dossiers.test_measurements import recount

# The dossiers' fixtures: the 2024 campaign's date, the registry, the users, a dossier in deployment.
campaign_2024, registry, users = dossiers.campaign_2024, dossiers.registry, dossiers.users
deploying = test_measurements.deploying

pytestmark = pytest.mark.django_db


def test_the_last_measures_of_many_dossiers_in_one_query(users, deploying):
    from esms_numerique.indicators.services import record_measurements

    assert final_statuses([deploying]) == {deploying.pk: final_status(deploying)}
    assert final_statuses([deploying])[deploying.pk]["date"] is None
    measure(users["porteur"], deploying, date="2024-06-30")
    later = measurements(deploying, date="2024-07-31")
    first = next(iter(later["essms"]))
    recount(later["essms"][first], active_with_pp=19)  # U-PP missed at the last date only
    record_measurements(users["porteur"], deploying, later)
    with CaptureQueriesContext(connection) as queries:
        statuses = final_statuses([deploying])
    assert len(queries.captured_queries) == 2  # the ledger's funded ESSMS, the last measures
    status = statuses[deploying.pk]
    assert status == final_status(deploying)
    assert status["date"].isoformat() == "2024-07-31"
    assert (status["all_met"], status["unmet"], status["missing"]) == (False, {first: ["U-PP"]}, [])


def test_conflicts_read_the_ledger_and_the_references_only(users):
    first = in_instruction(users, "Première grappe")
    second = in_instruction(users, "Seconde grappe")
    scope = FundedEssms.objects.filter(dossier=first)
    with CaptureQueriesContext(connection) as queries:
        found = ledger.conflicts(scope)
        labels = {finess: ledger.claims_text(claims) for finess, claims in found.items()}
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    assert '"reference"' in sql
    for heavy in ('"grappe"', '"result"', '"filed_result"'):
        assert heavy not in sql
    assert sorted(found) == sorted(GRAPPE_FINESS)
    assert labels[GRAPPE_FINESS[0]] == (
        f"dossier {first.reference} (déposé, en instruction), dossier {second.reference} (déposé, en instruction)"
    )
    # The follow-up page asks the same question of the same ledger.
    dossiers = type(first).objects.filter(pk__in=[first.pk, second.pk])
    assert {k: [c.pk for c in v] for k, v in dashboard.conflicts(dossiers).items()} == {
        k: [c.pk for c in v] for k, v in ledger.conflicts(FundedEssms.objects.filter(dossier__in=dossiers)).items()
    }


def test_an_essms_claimed_once_is_no_conflict(users):
    first = in_instruction(users, "Première grappe")
    assert ledger.conflicts(FundedEssms.objects.filter(dossier=first)) == {}
    in_instruction(users, "Seconde grappe")
    assert len(ledger.conflicts(FundedEssms.objects.filter(dossier=first))) == len(GRAPPE_FINESS)
