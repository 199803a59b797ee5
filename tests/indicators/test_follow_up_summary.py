"""The follow-up's summary (DECISION D-FOLLOW-UP-SUMMARY) gives the numbers of the full computation from the
measurements: active DUI by region, projects at risk with their reasons and due dates — over a national demo of
several regions with small counts (D-SMALL-COUNTS) and projects at risk, for CNSA and each ARS; it follows the
services that change its inputs (a measurement recorded, an ESSMS joining or leaving the grappe, the deadline
extended), the page with it; the migration fills it as the services do; the ledger's clashes shown never outlive a
change of the ledger."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import re
from collections import defaultdict

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client

from esms_numerique.demo_national import import_registry, load_dossiers
from esms_numerique.dossiers.access import visible_dossiers
from esms_numerique.dossiers.changes import extend_deadline, join_essms, withdraw_essms
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier
from esms_numerique.indicators import dashboard
from esms_numerique.indicators.models import ActiveDui, DossierFollowUp, UsageMeasurement
from esms_numerique.indicators.publication import SECRET, small_count_threshold
from esms_numerique.indicators.services import record_measurements
from esms_numerique.indicators.summary import active_by_dossier_region, refresh_all
from esms_numerique.ledger import services as ledger
from esms_numerique.ledger.models import FundedEssms
from esms_numerique.registry.demo import generate
from esms_numerique.www.charts import count_label
from tests.dossiers import conftest as dossiers
from tests.dossiers import test_measurements
from tests.dossiers.conftest import GRAPPE_FINESS, measurements
from tests.dossiers.test_integrity import in_instruction
from tests.dossiers.test_measurements import recount

# The dossiers' fixtures: the 2024 campaign's date, the registry, the users, a dossier in deployment (3 ESSMS).
campaign_2024, registry, users = dossiers.campaign_2024, dossiers.registry, dossiers.users
deploying = test_measurements.deploying

pytestmark = pytest.mark.django_db


def active_dui_by_region_measured(scope) -> dict:
    """`dashboard.active_dui_by_region` computed from the measurements themselves (the summary's definition)."""
    by_region: dict[str, int] = defaultdict(int)
    for (_, region), count in active_by_dossier_region(scope).items():
        by_region[region] += count
    return dashboard._active(dict(by_region))


def summary_rows() -> tuple[set, set]:
    return (
        set(DossierFollowUp.objects.values_list("dossier_id", "measured_on", "targets_met")),
        set(ActiveDui.objects.values_list("dossier_id", "region", "active_dossiers")),
    )


def risks(rows: list[dict]) -> list[tuple]:
    """(reference, reason, due date) of the summary's rows or of `dashboard.at_risk`'s."""
    return [
        (row["reference"], row["reason"], row["due"])
        if "reference" in row
        else (row["dossier"].reference, row["reason"], row["due"]["due"] if row["due"] else None)
        for row in rows
    ]


def assert_same_numbers(scope) -> None:
    """The page's numbers (the summary, the cached clashes) are those of the full computation."""
    assert dashboard.active_dui_by_region(scope) == active_dui_by_region_measured(scope)
    assert risks(dashboard.at_risk_summary(scope)) == risks(dashboard.at_risk(scope))
    clashes = ledger.conflicts(FundedEssms.objects.filter(dossier__in=scope))
    assert dashboard.conflict_lines(scope) == [(f, ledger.claims_text(c)) for f, c in sorted(clashes.items())]


def page_of(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/suivi/")
    assert response.status_code == 200
    return response.content.decode()


def at_risk_on(page: str) -> list[str]:
    listed = page[page.index('<ul id="at-risk">') :].split("</ul>")[0]
    return re.findall(r'<a href="/dossiers/([^/]+)/">', listed)


def active_on(page: str) -> dict[str, str]:
    table = page[page.index('<table id="active-by-region">') :].split("</table>")[0]
    return dict(re.findall(r'<tr data-region="(\d*)"><td>[^<]*</td><td>([^<]*)</td>', table))


# ---------------------------------------------------------------------------------------------------------------
# A national demo, reduced: several regions, national and regional desks, projects at risk.


@pytest.fixture
def demo(tmp_path, settings):
    settings.ESMS_TODAY = "2024-03-11"
    import_registry(generate(tmp_path, "national"))
    load_dossiers(60)


def small_counts_measure(settings) -> Dossier:
    """A dossier in deployment measures, later than its last date, one ESSMS over fewer people than the small-count
    threshold, missing U-PP; its other ESSMS unmeasured at that date (at risk: targets not met)."""
    dossier = (
        Dossier.objects.filter(state=State.EN_DEPLOIEMENT, measurements__isnull=False)
        .exclude(desk="national")
        .distinct()
        .order_by("reference")
        .first()
    )
    last = dossier.measurements.order_by("-measurement_date").first().measurement_date
    on = last + dt.timedelta(days=31)
    settings.ESMS_TODAY = on.isoformat()
    first = dossier.measurements.order_by("finess_et").first().finess_et
    data = measurements(dossier, date=on.isoformat(), finess=[first])
    data["window_start"] = (on - dt.timedelta(days=90)).isoformat()
    threshold = small_count_threshold()
    people = threshold - 1
    recount(
        data["essms"][first],
        people_accompanied=people,
        active_dossiers=people,
        active_with_pp=1,
        active_with_event=people,
        mss_messages=people,
        dmp_people_fed=people,
    )
    record_measurements(porteur_of(dossier), dossier, data)
    return dossier


def porteur_of(dossier: Dossier) -> User:
    return User.objects.get(profile__legal_entity=dossier.porteur, profile__role="porteur")


def test_the_summary_gives_the_full_computation_s_numbers_and_the_migration_fills_it(demo, settings):
    # The national demo's bulk load wrote the summary of every measured dossier.
    measured = set(UsageMeasurement.objects.order_by().values_list("dossier_id", flat=True).distinct())
    assert measured and set(DossierFollowUp.objects.values_list("dossier_id", flat=True)) == measured
    assert set(ActiveDui.objects.values_list("dossier_id", flat=True)) == measured
    small = small_counts_measure(settings)
    regions = set(ActiveDui.objects.values_list("region", flat=True))
    assert len(regions) >= 5
    readers = ["cnsa", *(f"instructeur-{code}" for code in sorted(regions) if code)]
    at_risk_seen = set()
    for today in (settings.ESMS_TODAY, "2025-01-15", "2025-12-31"):
        settings.ESMS_TODAY = today
        for username in readers:
            scope = visible_dossiers(User.objects.get(username=username))
            assert_same_numbers(scope)
            at_risk_seen |= {row[1] for row in risks(dashboard.at_risk_summary(scope))}
    assert at_risk_seen == {"échéance dépassée", "échéance proche", "cibles non atteintes"}

    # The page, its chart and its exports read the same numbers.
    cnsa = User.objects.get(username="cnsa")
    scope = visible_dossiers(cnsa)
    page = page_of(cnsa)
    assert small.reference in at_risk_on(page)
    assert at_risk_on(page) == [row["dossier"].reference for row in dashboard.at_risk(scope)]
    full = active_dui_by_region_measured(scope)
    assert active_on(page) == {row["region"]: count_label(row["active"]) for row in full["rows"]}
    client = Client()
    client.force_login(cnsa)
    chart = client.get("/suivi/graphique-dui-actifs.svg").content.decode()
    for row in full["rows"]:
        assert row["name"] in chart
    exported = list(csv.reader(io.StringIO(client.get("/suivi/export.csv").content.decode("utf-8-sig")), delimiter=";"))
    assert {line[0]: int(line[2]) for line in exported[1:]} == {
        row["region"]: row["active"] for row in full["rows"]
    } | {code: 0 for code in {line[0] for line in exported[1:]} - {row["region"] for row in full["rows"]}}
    # D-SMALL-COUNTS: the small ESSMS's active DUI count in the region; its rates are not published.
    measured = [m for m in dashboard.latest_measurements(scope) if m.dossier_id == small.pk]
    assert any(m.published("pp_rate") is None for m in measured)
    assert SECRET == "secret statistique"

    # The migration fills the summary as the services wrote it, and so does a bulk load's refresh.
    written = summary_rows()
    assert written[0] and written[1]
    DossierFollowUp.objects.all().delete()
    ActiveDui.objects.all().delete()
    migration = importlib.import_module("esms_numerique.indicators.migrations.0003_follow_up_summary")
    migration.backfill(apps, None)
    assert summary_rows() == written
    DossierFollowUp.objects.all().delete()
    ActiveDui.objects.all().delete()
    assert refresh_all() == len(written[0])
    assert summary_rows() == written


# ---------------------------------------------------------------------------------------------------------------
# The services keep it, in their transaction; the page follows.


def test_the_summary_and_the_page_follow_each_measurement_and_grappe_change(users, deploying, settings):
    ars = users["ars"]
    scope = visible_dossiers(ars)
    page = page_of(ars)
    assert deploying.reference not in at_risk_on(page) and active_on(page) == {}
    assert not DossierFollowUp.objects.exists()

    # One ESSMS misses U-PP at the last date: at risk; its 38 active DUI and the others' count in Brittany.
    data = measurements(deploying, date="2024-06-30")
    a = sorted(data["essms"])[0]
    recount(data["essms"][a], active_with_pp=19)
    record_measurements(users["porteur"], deploying, data)
    assert DossierFollowUp.objects.get(dossier=deploying).targets_met is False
    assert_same_numbers(scope)
    page = page_of(ars)
    assert at_risk_on(page) == [deploying.reference]
    assert "cibles non atteintes" in page
    assert active_on(page) == {"53": "114"}

    # A later measure meets every target: no longer at risk; the last measure of each ESSMS counts.
    data = measurements(deploying, date="2024-07-31")
    recount(data["essms"][a], active_dossiers=40, active_with_pp=40, active_with_event=40)
    record_measurements(users["porteur"], deploying, data)
    assert_same_numbers(scope)
    page = page_of(ars)
    assert at_risk_on(page) == [] and active_on(page) == {"53": "116"}

    # An ESSMS joins the grappe (E-JOIN): funded, not measured at the last date — at risk again.
    deploying.refresh_from_db()
    joined = join_essms(ars, deploying, deploying.version, GRAPPE_FINESS[3], True, "Au second semestre.", "E-JOIN.")
    assert FundedEssms.objects.filter(dossier=deploying, finess_et=GRAPPE_FINESS[3], holds=True).exists()
    assert_same_numbers(scope)
    assert at_risk_on(page_of(ars)) == [deploying.reference]

    # It leaves again: the three measured ESSMS meet their targets.
    withdraw_essms(ars, joined, joined.version, GRAPPE_FINESS[3], "Finalement non.")
    assert_same_numbers(scope)
    assert at_risk_on(page_of(ars)) == []

    # Ten days before the end of deployment: at risk, the deadline near; the ARS extends it (FAQN Q32): no longer.
    dossier = Dossier.objects.get(pk=deploying.pk)
    settings.ESMS_TODAY = (dossier.deadline_on - dt.timedelta(days=10)).isoformat()
    page = page_of(ars)
    assert at_risk_on(page) == [dossier.reference] and "échéance proche" in page
    assert_same_numbers(scope)
    extend_deadline(ars, dossier, dossier.version, dossier.deadline_on + dt.timedelta(days=180), "Livraison tardive.")
    assert at_risk_on(page_of(ars)) == []
    assert_same_numbers(scope)


def test_the_clashes_shown_follow_the_ledger(users):
    national = User.objects.create_user("cnsa_suivi")
    from esms_numerique.accounts.enums import Role
    from esms_numerique.accounts.models import Profile

    Profile.objects.create(user=national, role=Role.NATIONAL)
    first = in_instruction(users, "Première grappe")
    page = page_of(national)
    assert 'id="conflicts">Aucun ESSMS' in page
    # A second dossier claims the same ESSMS: the ledger changed, the page says so at once.
    second = in_instruction(users, "Seconde grappe")
    page = page_of(national)
    table = page[page.index('<table id="conflicts">') :].split("</table>")[0]
    assert table.count("<tr><td>") == len(GRAPPE_FINESS)
    assert_same_numbers(visible_dossiers(national))
    assert f"dossier {first.reference} (déposé, en instruction), dossier {second.reference}" in table
    # An ARS of another region reads neither dossier, nor their clashes.
    assert dashboard.conflict_lines(visible_dossiers(users["autre_ars"])) == []
    assert_same_numbers(visible_dossiers(users["ars"]))


def test_ledger_rows_committed_late_with_lower_ids_show_at_once(users):
    """Ids are given at insert, not at commit: a transaction that commits after a reader cached the clashes may bring
    rows with lower ids than the largest that reader saw. That transaction carries its audit entry (every writer of
    the ledger is audited, its rebuild included), which the clashes' stamp reads with the largest id: they show at
    once (DECISION D-FOLLOW-UP-SUMMARY)."""
    from esms_numerique.accounts.enums import Role
    from esms_numerique.accounts.models import Profile
    from esms_numerique.audit.services import record

    national = User.objects.create_user("cnsa_tardif")
    Profile.objects.create(user=national, role=Role.NATIONAL)
    first = in_instruction(users, "Première grappe")
    second = in_instruction(users, "Seconde grappe")
    # Later rows than the second dossier's (a row of its own ESSMS, claimed by nobody else).
    unrelated = FundedEssms.objects.filter(dossier=first).first()
    unrelated.pk, unrelated.finess_et = None, "990000001"
    unrelated.save()
    # The second dossier's rows not committed yet when the reader reads: no clash, the largest id already there.
    late = list(FundedEssms.objects.filter(dossier=second))
    assert late and max(row.pk for row in late) < unrelated.pk
    FundedEssms.objects.filter(dossier=second).delete()
    assert 'id="conflicts">Aucun ESSMS' in page_of(national)
    assert FundedEssms.objects.order_by("-id").values_list("id", flat=True).first() == unrelated.pk
    # They commit now, with their lower ids and their transaction's audit entry: the largest id is the same, the
    # clashes are not.
    FundedEssms.objects.bulk_create(late)
    record("porteur", "transition:deposer", "Dossier", second.reference)
    assert FundedEssms.objects.order_by("-id").values_list("id", flat=True).first() == unrelated.pk
    page = page_of(national)
    table = page[page.index('<table id="conflicts">') :].split("</table>")[0]
    assert f"dossier {first.reference} (déposé, en instruction), dossier {second.reference}" in table
