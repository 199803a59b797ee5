"""`esms registre reconstruire` rewrites the ledger of funded ESSMS, and with it the follow-up's summary that reads
it (D-FOLLOW-UP-SUMMARY): a dossier whose funded ESSMS were missing from the ledger is judged on all of them."""

from __future__ import annotations

import pytest

from esms_numerique.indicators.models import DossierFollowUp
from esms_numerique.indicators.services import record_measurements
from esms_numerique.indicators.summary import refresh_all
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.ledger_rebuild import rebuild
from tests.dossiers import conftest as dossiers
from tests.dossiers import test_measurements
from tests.dossiers.conftest import measurements

campaign_2024, registry, users = dossiers.campaign_2024, dossiers.registry, dossiers.users
deploying = test_measurements.deploying

pytestmark = pytest.mark.django_db


def test_the_rebuilt_ledger_rewrites_the_follow_up_summary(users, deploying):
    data = measurements(deploying, date="2024-06-30")
    measured, missing = sorted(data["essms"])[:-1], sorted(data["essms"])[-1]
    data["essms"] = {finess: data["essms"][finess] for finess in measured}
    record_measurements(users["porteur"], deploying, data)
    assert DossierFollowUp.objects.get(dossier=deploying).targets_met is False  # one funded ESSMS unmeasured
    # Data from before the ledger: the unmeasured ESSMS is not in it, and the summary was written from it.
    FundedEssms.objects.filter(dossier=deploying, finess_et=missing).delete()
    refresh_all()
    assert DossierFollowUp.objects.get(dossier=deploying).targets_met is True
    rebuild()
    assert FundedEssms.objects.filter(dossier=deploying, finess_et=missing, holds=True).exists()
    assert DossierFollowUp.objects.get(dossier=deploying).targets_met is False


def test_the_rebuild_is_audited(users, deploying):
    """The rebuild is a change of data: audited in its transaction, so that what is kept under the audit log's last
    change (the ledger's clashes on the follow-up, the committees' pages) is made again (D-FOLLOW-UP-SUMMARY)."""
    from esms_numerique.audit.models import AuditEntry
    from esms_numerique.audit.services import verify_chain

    dossiers_count, orders_count = rebuild()
    entry = AuditEntry.objects.latest("id")
    assert (entry.actor, entry.action, entry.object_type, entry.after) == (
        "esms registre reconstruire",
        "ledger_rebuild",
        "Ledger",
        {"dossiers": dossiers_count, "commandes": orders_count},
    )
    assert dossiers_count == 1 and verify_chain() == []
