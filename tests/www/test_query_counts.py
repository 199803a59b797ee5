"""The SQL queries of the busiest pages do not grow with the number of dossiers (no N+1): each page is measured with
N and with 3N dossiers (or, for one dossier's page, ESSMS), the counts must be equal, and the count is pinned."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.dossiers import committees
from esms_numerique.dossiers.services import add_piece, apply_transition, create_dossier, post_message
from esms_numerique.indicators.services import record_measurements
from esms_numerique.registry.models import LegalEntity
from esms_numerique.registry.services import import_extracts
from esms_numerique.rules.parameters import default_tree
from tests.dossiers.conftest import measurements, paid_through_request
from tests.registry.test_import import et_line, extract
from tests.rules.grappes import finess_for

pytestmark = pytest.mark.django_db

N = 2
OG = "350000014"
ESSMS = [finess_for("35", n) for n in range(120)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FILING_DAY, MEASURING_DAY, TODAY = "2024-03-11", "2024-07-15", "2024-08-31"


@pytest.fixture
def world(settings):
    settings.ESMS_TODAY = FILING_DAY
    import_extracts("et.csv", extract(*(et_line(n, finess_ej=OG) for n in ESSMS)))

    def user(name, role, **profile):
        account = User.objects.create_user(name, password="x")
        Profile.objects.create(user=account, role=role, **profile)
        return account

    return {
        "porteur": user("porteur", Role.PORTEUR, legal_entity=LegalEntity.objects.get(finess_ej=OG)),
        "ars": user("ars_bretagne", Role.ARS, region="53"),
        "national": user("cnsa", Role.NATIONAL),
        "free": iter(ESSMS),  # each dossier its own ESSMS (one FINESS ET, one funding)
    }


def filed(world, size: int = 2):
    porteur = world["porteur"]
    numbers = [next(world["free"]) for _ in range(size)]
    grappe = {
        "porteur": {"finess_ej": OG, "vat_regime": "TTC"},
        "solution": {"segur_referenced": True},
        "operation": "acquisition",
        "essms": [{"finess_et": n} for n in numbers],
    }
    dossier = create_dossier(porteur, f"Grappe {numbers[0]}", "2024", grappe)
    codes = [
        row["code"] for row in default_tree().get("esms_numerique/2024/eligibility/pieces.standard").values[-1].value
    ]
    for code in codes:
        add_piece(porteur, dossier, code, SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf"))
    dossier.refresh_from_db()
    return apply_transition(porteur, dossier, "deposer", dossier.version)


def step(user, dossier, *names: str):
    for name in names:
        dossier = apply_transition(user, dossier, name, dossier.version)
    return dossier


def under_instruction(world, size: int = 2):
    return step(world["ars"], filed(world, size), "declarer_recevable", "instruire")


def committee_of(world, label: str = "Comité d'avril"):
    return committees.create_committee(world["ars"], label, dt.date(2024, 4, 10), dt.date(2024, 3, 31))


def deploying(world, settings, count: int, size: int = 2) -> list:
    """`count` dossiers taken through a committee to deployment, each with a measurement of every funded ESSMS
    (targets met) and one below target the month after for half of them (projects at risk on the follow-up)."""
    porteur, ars = world["porteur"], world["ars"]
    settings.ESMS_TODAY = FILING_DAY
    committee = committee_of(world)
    dossiers = []
    for _ in range(count):
        dossier = under_instruction(world, size)
        committees.decide(ars, committees.add_to_agenda(ars, committee, dossier), "retenu", "Retenu.")
        dossier.refresh_from_db()
        dossier = paid_through_request(porteur, ars, step(ars, dossier, "engager", "signer_convention"))
        dossiers.append(step(porteur, dossier, "demarrer_deploiement"))
    settings.ESMS_TODAY = MEASURING_DAY
    for n, dossier in enumerate(dossiers):
        record_measurements(porteur, dossier, measurements(dossier, date="2024-05-31"))
        record_measurements(porteur, dossier, measurements(dossier, date="2024-06-30", rate=0.95 if n % 2 else 0.1))
        for n in range(size):
            post_message(porteur, dossier, f"Mesures déposées ({n}).")
    settings.ESMS_TODAY = TODAY
    return dossiers


def mixed(world, settings, count: int) -> None:
    """`count` dossiers in each of: draft, filed, under instruction, in deployment with measurements."""
    settings.ESMS_TODAY = FILING_DAY
    for _ in range(count):
        create_dossier(
            world["porteur"],
            "Brouillon",
            "2024",
            {
                "porteur": {"finess_ej": OG, "vat_regime": "TTC"},
                "solution": {"segur_referenced": True},
                "operation": "acquisition",
                "essms": [{"finess_et": next(world["free"])}],
            },
        )
        filed(world)
        under_instruction(world)
    deploying(world, settings, count)


# ---------------------------------------------------------------------------------------------------------------


def normalized(sql: str) -> str:
    """The query's shape: literals and parameter lists folded, so that the same query for another row matches."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+\b", "?", sql)
    sql = re.sub(r"\((?:\?, )*\?\)", "(?…)", sql)
    return sql


def queries_of(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [q["sql"] for q in captured.captured_queries]


def growth(small: list[str], large: list[str]) -> str:
    """The queries that the larger world runs more often, with how often: what repeats per dossier."""
    before, after = Counter(map(normalized, small)), Counter(map(normalized, large))
    grown = [(after[sql] - before[sql], sql) for sql in after if after[sql] > before[sql]]
    return "\n".join(f"  +{extra} × {sql[:400]}" for extra, sql in sorted(grown, reverse=True))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_flat(small: list[str], large: list[str], pinned: int, page: str) -> None:
    print(f"\n{page}: {len(small)} requêtes avec N, {len(large)} avec 3N")
    if os.environ.get("SHOW_QUERIES"):
        print("\n".join(f"    {sql[:160]}" for sql in small))
    grown = growth(small, large)
    if grown:
        print(f"Requêtes répétées (3N − N) :\n{grown}")
    assert len(large) == len(small), f"{page} : {len(small)} requêtes avec N, {len(large)} avec 3N\n{grown}"
    assert len(small) <= pinned, f"{page} : {len(small)} requêtes, {pinned} au plus attendues"


def measure_twice(client: Client, url: str, grow) -> tuple[list[str], list[str]]:
    client.get(url)  # caches warmed by the first request do not count
    small = queries_of(client, url)
    grow()
    return small, queries_of(client, url)


# ---------------------------------------------------------------------------------------------------------------


# Each count is pinned at what was measured, the same on SQLite and PostgreSQL (SHOW_QUERIES=1 prints the queries).
# A change that adds a query on purpose updates its number here; one that grows with N fails assert_flat.

# Session, user, profile, the tabs' counts (one query for all five, which also gives the paginator its count), the
# page's dossiers with their porteur and unread messages. Issue 12 added the tabs: 4 → 5.
PINNED_LIST = {"ars": 5, "national": 5}


@pytest.mark.parametrize("who", ["ars", "national"])
def test_the_dossier_list(world, settings, who):
    mixed(world, settings, N)
    small, large = measure_twice(client_for(world[who]), "/dossiers/", lambda: mixed(world, settings, 2 * N))
    assert_flat(small, large, PINNED_LIST[who], f"/dossiers/ ({who})")


# One dossier of N=2 ESSMS and one of 3N=6 (each measured on two dates, with as many messages as ESSMS, its log,
# pieces and payment request): 14 for the porteur, whatever the size. The instructor's page asks once more whether
# it sees the dossier (sees_annotations → can_see).
# + 1 for both: the page marks the dossier read for the list's unread badge (DECISION D-LIST-UNREAD, issue 12).
# + 2 for both: the résumé's ESSMS names from the registry and its member OGs; + 4 for the instructor: the
# assignment history, the colleagues and the experts the forms offer, the experts' opinions (DECISION D-DOSSIER-PAGE).
# The « Cibles d'usage » part (the measurements, the trajectory's, the last date's) comes from the cache while the
# measurements are unchanged, their stamp read in the dossier's query: − 3, + 3 when the cache is empty (both pages
# read once cold, then again); the instructor's page read the dossier through the access door, sees_annotations
# does not ask again: − 1; whether the orders to pay back, the grappe's versions after the decision (and the
# experts' opinions, for the instructor) have rows is read with the dossier, and these have none here: − 2, − 3 for
# the instructor (DECISION D-DOSSIER-PAGE-SCALE).
# + 1 for both: the page's stamp, read through the access door before the dossier (DECISION D-DOSSIER-PAGE-CACHE).
PINNED_DETAIL = {"porteur": 13, "ars": 17}  # ARS: + whether it follows the dossier
PINNED_DETAIL_COLD = {"porteur": 16, "ars": 20}
# The page's content kept for this reader and this state of its data: session, user, profile, the stamp, « lu le ».
PINNED_DETAIL_KEPT = 5


@pytest.mark.parametrize("who", ["porteur", "ars"])
def test_the_dossier_page(world, settings, who):
    from esms_numerique.caching import dossier_pages, pages

    small_dossier, large_dossier = (
        deploying(world, settings, 1, size=N)[0],
        deploying(world, settings, 1, size=3 * N)[0],
    )
    small_url, large_url = f"/dossiers/{small_dossier.reference}/", f"/dossiers/{large_dossier.reference}/"
    client = client_for(world[who])
    client.get(small_url)
    pages().clear()
    dossier_pages().clear()
    cold_small, cold_large = queries_of(client, small_url), queries_of(client, large_url)
    dossier_pages().clear()  # the page made again, its measurements' part from the cache
    small, large = queries_of(client, small_url), queries_of(client, large_url)
    kept_small, kept_large = queries_of(client, small_url), queries_of(client, large_url)
    assert_flat(cold_small, cold_large, PINNED_DETAIL_COLD[who], f"/dossiers/<ref>/ ({who}, cache vide)")
    assert_flat(small, large, PINNED_DETAIL[who], f"/dossiers/<ref>/ ({who})")
    assert_flat(kept_small, kept_large, PINNED_DETAIL_KEPT, f"/dossiers/<ref>/ ({who}, page gardée)")


# Session, user, profile, the committee, the stamp of what its content reads: the agenda, the eligible dossiers, the
# envelope's figures and the ledger's conflicts come from the cache while it is unchanged (it was 11 when they were
# read at each request; DECISION D-COMMITTEE-FIGURES-CACHE).
PINNED_COMMITTEE = 5
# With an empty cache, the content made again: + its agenda with the dossiers, the eligible dossiers, the envelope,
# the engaged dossiers and the frozen results of those whose split is not in the cache (kept per version of each
# dossier: after a change, only the changed ones are read), the last proposal, the registry count (D-SELECTION), the
# ledger's conflicts.
PINNED_COMMITTEE_CHANGED = 13


def test_the_committee_page(world, settings):
    """N dossiers on the agenda (half decided) and N more eligible, then 3N of each."""
    from esms_numerique.caching import pages

    ars = world["ars"]
    committee = committee_of(world)
    url = f"/comites/{committee.pk}/"

    def agenda(count):
        settings.ESMS_TODAY = FILING_DAY
        for n in range(count):
            item = committees.add_to_agenda(ars, committee, under_instruction(world))
            if n % 2:
                committees.decide(ars, item, "retenu", "Retenu.")
            under_instruction(world)  # eligible, not on the agenda yet
        settings.ESMS_TODAY = TODAY

    def changed(client):
        pages().clear()
        return queries_of(client, url)

    agenda(N)
    client = client_for(ars)
    small_changed = changed(client)
    small, large = measure_twice(client, url, lambda: (agenda(2 * N), client.get(url)))
    assert_flat(small, large, PINNED_COMMITTEE, "/comites/<pk>/")
    assert_flat(small_changed, changed(client), PINNED_COMMITTEE_CHANGED, "/comites/<pk>/ (après un changement)")


# The followed dossiers' last measurements are read in one query for all (indicators.services.final_statuses); it was
# 12 with N=2 and 20 with 3N=6 while at_risk() called final_status() for each dossier (2 queries per dossier).
# Then 10; now the follow-up's summary (DECISION D-FOLLOW-UP-SUMMARY): session, user, profile, active DUI by region,
# projects at risk, envelope, the ledger's stamp (its clashes cached under it), the clashes on the scope's ESSMS.
PINNED_FOLLOW_UP = {"ars": 8, "national": 8}


@pytest.mark.parametrize("who", ["ars", "national"])
def test_the_follow_up_page(world, settings, who):
    deploying(world, settings, N)
    client = client_for(world[who])

    def grow():
        deploying(world, settings, 2 * N)
        # The ledger changed: the next request computes its clashes once for every reader (one more query, not one
        # per dossier); the measured request reads them from the cache, as the first measurement did.
        client.get("/suivi/")

    small, large = measure_twice(client, "/suivi/", grow)
    assert_flat(small, large, PINNED_FOLLOW_UP[who], f"/suivi/ ({who})")
    # Cold (another process, or the ledger just changed): one query more, the ledger's clashes, whatever its size.
    from esms_numerique.caching import pages

    pages().clear()
    assert len(queries_of(client, "/suivi/")) == len(large) + 1


# Each role's home page (issue 12): what awaits the person, each list one bounded query (esms_numerique/www/home.py).
# Porteur: session, user, profile, drafts, complements, deadlines, SONS orders. ARS: + assigned to me, to instruct,
# committees, deadlines, payment requests. National: to instruct, payment requests, SONS payments, committees.
PINNED_HOME = {"porteur": 7, "ars": 8, "national": 7}


@pytest.mark.parametrize("who", ["porteur", "ars", "national"])
def test_the_home_page_of_each_role(world, settings, who):
    mixed(world, settings, N)
    small, large = measure_twice(client_for(world[who]), "/", lambda: mixed(world, settings, 2 * N))
    assert_flat(small, large, PINNED_HOME[who], f"/ ({who})")


# The user's API tokens and webhooks (issue 14): session, user, profile, the tokens, the webhooks, the last deliveries.
PINNED_API_TOKENS = 6


def test_the_api_tokens_page(world, settings):
    from esms_numerique.partners.models import Delivery, Webhook
    from esms_numerique.partners.tokens import create_token

    porteur = world["porteur"]

    def tokens_and_deliveries(count: int) -> None:
        for n in range(count):
            create_token(porteur, f"jeton {n}", "lecture", None)
            hook = Webhook.objects.create(user=porteur, url=f"https://partenaire.example/{n}", secret="s" * 16)
            Delivery.objects.create(webhook=hook, event="dossier.etat", reference=f"ESMS-{n}", payload={})

    tokens_and_deliveries(N)
    small, large = measure_twice(client_for(porteur), "/compte/api/", lambda: tokens_and_deliveries(2 * N))
    assert_flat(small, large, PINNED_API_TOKENS, "/compte/api/")


# The API's list of dossiers (issue 14): session, user, profile, one page of dossiers with their porteur and their
# last change (partners.Change, in the same query).
PINNED_API_DOSSIERS = 4


def test_the_api_dossier_list(world, settings):
    mixed(world, settings, N)
    small, large = measure_twice(client_for(world["ars"]), "/api/dossiers", lambda: mixed(world, settings, 2 * N))
    assert_flat(small, large, PINNED_API_DOSSIERS, "/api/dossiers (ars)")
