"""The dossier list at national scale (issue 12): 1 400 dossiers, searched, filtered, sorted, paged and split in tabs,
every parameter kept in the URL; bad parameters answer a page, never an error. The unread-message badge and the
list's columns kept by the services (issue 16)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.apps import apps as django_apps
from django.test import Client

from esms_numerique import clock
from esms_numerique.accounts.enums import Role
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.listing import refresh_many
from esms_numerique.dossiers.models import Dossier, DossierRead
from esms_numerique.dossiers.services import apply_transition, create_dossier, post_message
from esms_numerique.dossiers.workflow import ENDED
from esms_numerique.ledger.models import FundedEssms, LedgerState, Scheme
from esms_numerique.notifications.models import Follow
from esms_numerique.registry.models import LegalEntity
from esms_numerique.www.dossier_list_views import PER_PAGE, action_states
from tests.browser_steps import logged_in
from tests.conftest import CHROMIUM
from tests.dossiers.conftest import PORTEUR_EJ, attach_pieces, campaign_2024, grappe, registry, users  # noqa: F401

pytestmark = pytest.mark.django_db

COUNT = 1400
# A spread of states over the lifecycle; every tenth dossier national, every seventh in Île-de-France.
STATES = [
    State.DEPOSE,
    State.COMPLETE,
    State.EN_INSTRUCTION,
    State.PRESENTE_COMITE,
    State.RETENU,
    State.CONVENTION_SIGNEE,
    State.EN_DEPLOIEMENT,
    State.SOLDE_VERSE,
    State.CLOS,
    State.NON_RETENU,
    State.DESISTE,
    State.CLASSE_SANS_SUITE,
    State.BROUILLON,
]
NAMES = [
    "Kerlann",
    "Ty Coat",
    "Armor Solidarité",
    "Penn Ar Bed",
    "Les Genêts",
    "Avel Vor",
    "Le Ponant",
    "Odet",
    "Brocéliande",
    "Iroise",
]
PORTEURS = [(f"35{n:07d}", f"Association {name}") for n, name in enumerate(NAMES, start=1)]


def essms_of(n: int) -> list[str]:
    return [f"56{n:05d}01", f"56{n:05d}02"]


@pytest.fixture
def national(users):  # noqa: F811
    """1 400 dossiers written in bulk, as the national demo writes them (no services), then their list columns and
    ledger rows set at once: a few seconds."""
    entities = LegalEntity.objects.bulk_create(LegalEntity(finess_ej=ej, name=name) for ej, name in PORTEURS)
    base = dt.datetime(2024, 3, 1, 9, tzinfo=dt.UTC)
    rows = []
    for n in range(COUNT):
        desk, region = ("national", "") if n % 10 == 0 else ("regional", "11" if n % 7 == 0 else "53")
        state = STATES[n % len(STATES)]
        rows.append(
            Dossier(
                reference=f"ESMS-2024-{n:05d}",
                title=f"Grappe numéro {n}",
                campaign="2024",
                porteur=entities[n % len(entities)],
                created_by=users["porteur"],
                state=state,
                grappe={"essms": [{"finess_et": f} for f in essms_of(n)]},
                result={"essms_count": 2, "total_eur": 1000 * ((n * 37) % COUNT)},
                desk=desk,
                pivot_region=region,
                filed_at=None if state == State.BROUILLON else base,
                engaged_eur=500 * n if state in (State.CONVENTION_SIGNEE, State.EN_DEPLOIEMENT) else None,
                updated_at=base + dt.timedelta(minutes=(n * 13) % COUNT),
            )
        )
    Dossier.objects.bulk_create(rows, batch_size=500)
    refresh_many(Dossier.objects.all())
    FundedEssms.objects.bulk_create(
        FundedEssms(
            dossier=d,
            finess_et=f,
            scheme=Scheme.ESMS_NUMERIQUE,
            funding_key="esms_numerique",
            operation="acquisition",
            state=LedgerState.FILED,
        )
        for n, d in enumerate(rows)
        for f in essms_of(n)
    )
    return rows


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refs(response) -> list[str]:
    assert response.status_code == 200
    return [d.reference for d in response.context["dossiers"]]


def breton() -> list[Dossier]:
    """What an ARS Bretagne instructor sees: the filed regional dossiers of region 53."""
    return list(Dossier.objects.filter(pivot_region="53").exclude(state=State.BROUILLON))


def test_search_sort_pages_and_tabs_over_1400_dossiers(users, national):  # noqa: F811
    ars = client_for(users["ars"])
    seen = breton()
    response = ars.get("/dossiers/")
    assert response.context["count"] == len(seen) > 900
    assert len(refs(response)) == PER_PAGE
    # Default order: the last modified first.
    newest = sorted(seen, key=lambda d: (d.updated_at, d.reference), reverse=True)[0]
    assert refs(response)[0] == newest.reference
    assert "Régional — Bretagne" in response.content.decode()
    assert "regional 53" not in response.content.decode()

    # Tabs and their counts, per the ARS's own steps of the workflow (D-LIST-TABS).
    tabs = {t["code"]: t["count"] for t in response.context["tabs"]}
    todo = action_states(Role.ARS)
    assert tabs["tous"] == len(seen)
    assert tabs["a_traiter"] == sum(d.state in todo for d in seen) > 0
    assert tabs["archives"] == sum(d.state in ENDED for d in seen) > 0
    assert State.DEPOSE in todo and State.CONVENTION_SIGNEE not in todo  # the porteur asks the advance
    archived = ars.get("/dossiers/?onglet=archives")
    assert {d.state for d in archived.context["dossiers"]} <= set(ENDED)
    Follow.objects.create(user=users["ars"], dossier=seen[0])
    Follow.objects.create(user=users["ars"], dossier=seen[1])
    followed = [seen[0].reference, seen[1].reference]
    if django_apps.is_installed("esms_numerique.instruction"):  # assigned to them: followed too (D-LIST-TABS)
        assignment = django_apps.get_model("instruction", "Assignment")
        assignment.objects.create(dossier=seen[2], instructor=users["ars"])
        assignment.objects.create(dossier=seen[3], instructor=users["ars"])
        assignment.objects.create(dossier=seen[3], instructor=users["national"])  # handed to someone else since
        followed.append(seen[2].reference)
    assert sorted(refs(ars.get("/dossiers/?onglet=suivis"))) == sorted(followed)
    done = ars.get("/dossiers/?onglet=traites")
    assert done.context["count"] > 0
    assert all(d.state not in todo for d in done.context["dossiers"])

    # Search: a reference, a porteur's name (accents and case ignored), FINESS exact (ESSMS, porteur).
    one = seen[5]
    assert refs(ars.get(f"/dossiers/?q={one.reference.lower()}")) == [one.reference]
    assert refs(ars.get(f"/dossiers/?q={essms_of(int(one.reference[-5:]))[1]}")) == [one.reference]
    by_name = ars.get("/dossiers/?q=ARMOR+solidarite")
    assert by_name.context["count"] == sum(d.porteur.name == "Association Armor Solidarité" for d in seen) > 0
    by_ej = ars.get(f"/dossiers/?q={PORTEURS[2][0]}&tri=reference")
    assert by_ej.context["count"] == by_name.context["count"]
    assert refs(by_ej) == sorted(refs(by_ej))
    outside = Dossier.objects.get(reference="ESMS-2024-00007")  # Île-de-France: not the ARS Bretagne's
    assert refs(ars.get("/dossiers/?q=ESMS-2024-00007")) == [] and outside.pivot_region == "11"

    # Filters stay in the URL of the tabs, the sort links and the pages.
    filtered = ars.get("/dossiers/?etat=retenu&q=association&tri=-montant")
    assert {d.state for d in filtered.context["dossiers"]} == {State.RETENU}
    assert all("etat=retenu" in t["url"] and "q=association" in t["url"] for t in filtered.context["tabs"])
    html = filtered.content.decode()
    assert re.search(r'aria-sort="descending"><a[^>]*data-sort="montant"', html)
    amounts = [d.amount for d in filtered.context["dossiers"]]
    assert amounts == sorted(amounts, reverse=True)

    # Sort by every column, both ways; pages are disjoint and cover the tab.
    for key in ("reference", "porteur", "etat", "montant", "modifie", "echeance"):
        for way in ("", "-"):
            assert ars.get(f"/dossiers/?tri={way}{key}").status_code == 200
    first, second = refs(ars.get("/dossiers/?tri=reference")), refs(ars.get("/dossiers/?tri=reference&page=2"))
    assert not set(first) & set(second) and first[-1] < second[0]
    pages = -(-len(seen) // PER_PAGE)
    last = ars.get(f"/dossiers/?tri=reference&page={pages}")
    assert refs(last)[-1] == max(d.reference for d in seen)


BAD = [
    "page=999999",
    "page=-3",
    "page=abc",
    "page=1e9",
    "tri=nimporte",
    "tri=--montant",
    "onglet=x",
    "etat=zz",
    "echeance=demain",
    "q=" + "x" * 5000,
    "q=%27%3B--",
    "page=2&onglet=suivis",
]


def test_bad_parameters_answer_a_page(users, national):  # noqa: F811
    client = client_for(users["national"])
    for query in BAD:
        response = client.get(f"/dossiers/?{query}")
        assert response.status_code == 200, query
        page = response.context["page"]
        assert 1 <= page.number <= page.paginator.num_pages, query
    # Past the last page: the last one.
    page = client.get("/dossiers/?page=999999").context["page"]
    assert page.number == page.paginator.num_pages > 1
    assert client.get("/dossiers/?page=abc").context["page"].number == 1


def test_the_porteur_sees_its_work_to_do(users, registry):  # noqa: F811
    porteur = users["porteur"]
    draft = create_dossier(porteur, "Brouillon à déposer", "2024", grappe(2))
    response = client_for(porteur).get("/dossiers/?onglet=a_traiter")
    assert refs(response) == [draft.reference]
    assert response.context["dossiers"][0].essms_count == 2
    assert "Brouillon à déposer" in response.content.decode()


def test_columns_follow_the_services_and_the_unread_badge(users, registry, settings):  # noqa: F811
    porteur, ars = users["porteur"], users["ars"]
    dossier = create_dossier(porteur, "Grappe de Rennes", "2024", grappe(3))
    assert (dossier.essms_count, dossier.total_eur) == (3, dossier.result["total_eur"]) and dossier.total_eur > 0
    assert "grappe de rennes" in dossier.search_text and PORTEUR_EJ in dossier.search_text
    dossier = attach_pieces(porteur, dossier)
    created = Dossier.objects.get(pk=dossier.pk).updated_at
    settings.ESMS_TODAY = "2024-03-12"
    dossier = apply_transition(porteur, dossier, "deposer", dossier.version)
    assert Dossier.objects.get(pk=dossier.pk).updated_at > created  # « modifié le » moved with the state

    instructor = client_for(ars)
    post_message(porteur, dossier, "Voici la précision demandée.")
    post_message(ars, dossier, "Merci.")  # one's own message is never unread
    listed = instructor.get("/dossiers/").context["dossiers"]
    assert [d.unread for d in listed] == [1]
    assert 'data-unread="1"' in instructor.get("/dossiers/").content.decode()
    assert instructor.get(f"/dossiers/{dossier.reference}/").status_code == 200
    assert [d.unread for d in instructor.get("/dossiers/").context["dossiers"]] == [0]
    first_read = DossierRead.objects.get(user=ars, dossier=dossier).at
    with clock.pinned(dt.date(2024, 3, 13)):
        # Read again with nothing new: « lu le » is not rewritten (no write for a page read again).
        assert instructor.get(f"/dossiers/{dossier.reference}/").status_code == 200
        assert DossierRead.objects.get(user=ars, dossier=dossier).at == first_read
        post_message(porteur, dossier, "Et une pièce de plus.")
    assert [d.unread for d in instructor.get("/dossiers/").context["dossiers"]] == [1]
    with clock.pinned(dt.date(2024, 3, 14)):
        assert instructor.get(f"/dossiers/{dossier.reference}/").status_code == 200
    assert DossierRead.objects.get(user=ars, dossier=dossier).at.date() == dt.date(2024, 3, 14)
    assert [d.unread for d in instructor.get("/dossiers/").context["dossiers"]] == [0]


def axe_violations(page) -> list[str]:
    """axe-core's WCAG A/AA violations on the page (with its pagination, tabs and sortable headers)."""
    from axe_playwright_python.sync_playwright import Axe

    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": tags}, "resultTypes": ["violations"]})
    return [f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:3]}" for v in results.response["violations"]]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(CHROMIUM is None, reason="chromium (Debian) n'est pas installé")
@pytest.mark.parametrize("width", [1280, 375])
def test_the_list_in_a_browser(live_server, browser, users, national, width):  # noqa: F811
    """Search, a filter chosen with the keyboard (no reload on each arrow), sort, pages, tabs: desktop and phone, no
    console error."""
    page = logged_in(browser, live_server, "ars_bretagne")
    page.set_viewport_size({"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))
    page.goto(f"{live_server.url}/dossiers/?tri=montant&page=3")
    assert page.locator("#dossiers tbody tr").count() == PER_PAGE
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/dossiers/")

    page.fill("#q", "armor solidarité")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    assert "q=armor+solidarit" in page.url
    assert page.locator("#dossiers tbody tr").first.inner_text().count("Armor Solidarité") == 1

    # Arrows move through the states without reloading; Enter applies the choice.
    url = page.url
    page.focus("#etat")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.url == url
    with page.expect_navigation():
        page.keyboard.press("Enter")
    chosen = page.locator("#etat").input_value()
    assert chosen and f"etat={chosen}" in page.url and "q=armor" in page.url

    # Sort by amount, then the other way; the header says how the column is sorted.
    page.goto(f"{live_server.url}/dossiers/")
    with page.expect_navigation():
        page.locator('a[data-sort="montant"]').click()
    assert page.locator('th:has(a[data-sort="montant"])').get_attribute("aria-sort") == "ascending"
    with page.expect_navigation():
        page.locator('a[data-sort="montant"]').click()
    assert page.locator('th:has(a[data-sort="montant"])').get_attribute("aria-sort") == "descending"
    first = page.locator("#dossiers tbody tr td").first.inner_text()
    with page.expect_navigation():
        page.locator(".fr-pagination__link--next").click()
    assert "page=2" in page.url and "tri=-montant" in page.url
    assert page.locator("#dossiers tbody tr td").first.inner_text() != first
    with page.expect_navigation():
        page.locator('#onglets a[data-tab="archives"]').click()
    assert "onglet=archives" in page.url and "tri=-montant" in page.url
    assert page.locator('#onglets a[aria-current="page"]').get_attribute("data-tab") == "archives"
    assert problems == [], "\n".join(problems)


def test_the_migration_fills_the_columns_of_existing_dossiers(users, national):  # noqa: F811
    """Migration 0008 computes what refresh_many writes, for dossiers written before the columns existed."""
    import importlib

    from django.apps import apps

    fill = importlib.import_module("esms_numerique.dossiers.migrations.0008_list_columns_reads").fill_list_columns
    expected = {d.reference: d for d in Dossier.objects.all()}
    Dossier.objects.update(essms_count=None, total_eur=None, search_text="", deadline_on=None, deadline_label="")
    fill(apps, None)
    for dossier in Dossier.objects.all():
        before = expected[dossier.reference]
        assert (dossier.essms_count, dossier.total_eur, dossier.search_text) == (
            before.essms_count,
            before.total_eur,
            before.search_text,
        )
        assert (dossier.deadline_on, dossier.deadline_label) == (before.deadline_on, before.deadline_label)
        assert dossier.updated_at == dossier.filed_at or dossier.updated_at == dossier.created_at


# The loop the list's template had, before its rows were written in Python (dossier_list_views.list_rows).
LIST_LOOP = (
    "{% load esms %}{% for d in dossiers %}<tr>"
    '<td><a href="{{ d.url }}">{{ d.reference }}</a>'
    '{% if d.unread %}<br><span class="fr-badge fr-badge--sm fr-badge--new" data-unread="{{ d.unread }}">'
    "{{ d.unread }} message{{ d.unread|pluralize }} non lu{{ d.unread|pluralize }}</span>{% endif %}</td>"
    "<td>{{ d.title }}</td><td>{{ d.porteur.name|default:d.porteur.finess_ej }}</td><td>{{ d.desk_label }}</td>"
    '<td>{{ d.essms_count|default_if_none:"" }}</td><td><span class="fr-badge fr-badge--sm">{{ d.state_label }}</span>'
    "</td><td>{{ d.amount|eur }}</td><td>{{ d.updated_shown }}</td>"
    '<td>{% if d.deadline_on %}{{ d.deadline_on|date:"d/m/Y" }}{% if d.overdue %} <span class="fr-badge fr-badge--sm '
    'fr-badge--error">dépassée</span>{% endif %}<br><span class="fr-text--xs">{{ d.deadline_label }}</span>{% endif %}'
    "</td></tr>{% endfor %}"
)


def test_the_list_rows_are_the_templates():
    from django.template import Context, Template
    from django.utils import timezone

    from esms_numerique.www.dossier_list_views import desk_label, list_rows

    today = dt.date(2024, 3, 11)
    moment = timezone.make_aware(dt.datetime(2024, 3, 10, 23, 30), dt.UTC)
    porteurs = [LegalEntity(finess_ej="350000011", name='OG « <b>Kerlann</b> » & "fils"'), LegalEntity(finess_ej="1")]
    rows = [
        Dossier(reference="ESMS-2024-0001", title="<script>alert(1)</script>", state=State.DEPOSE, desk="regional",
                pivot_region="53", essms_count=3, updated_at=moment, deadline_on=dt.date(2024, 3, 1),
                deadline_label="Solde à demander <vite>", porteur=porteurs[0]),
        Dossier(reference="ESMS-2024-0002", title="Grappe d'Odet", state=State.RETENU, desk="national",
                essms_count=None, updated_at=moment, deadline_on=dt.date(2024, 4, 1), deadline_label="Avance",
                porteur=porteurs[1]),
        Dossier(reference="ESMS-2024-0003", title="", state=State.BROUILLON, desk="", essms_count=0,
                updated_at=moment, porteur=porteurs[0]),
    ]  # fmt: skip
    for d, unread, amount in zip(rows, (2, 1, 0), (12_345, None, 0), strict=True):
        d.unread, d.amount = unread, amount
        d.url = f"/dossiers/{d.reference}/"
        d.updated_shown = timezone.localtime(d.updated_at).strftime("%d/%m/%Y %H:%M")
        d.desk_label = desk_label(d)
        d.overdue = d.deadline_on is not None and d.deadline_on < today
    expected = Template(LIST_LOOP).render(Context({"dossiers": rows}))
    built = list_rows(rows, today)
    assert re.sub(r">\s+<", "><", built).strip() == re.sub(r">\s+<", "><", expected).strip()
    assert "&lt;script&gt;" in built and "dépassée" in built and "11/03/2024 00:30" in built
    assert "2 messages non lus" in built and "1 message non lu<" in built
