"""The committee's envelope figures and the ledger's conflicts are cached per state of the data they read: a page
served from the cache while nothing changed, and every change — through the services or not — shown at once
(issue 16; DECISION D-COMMITTEE-FIGURES-CACHE)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from esms_numerique.dossiers import committees
from esms_numerique.dossiers.models import Dossier
from esms_numerique.rules.selection import Settings
from esms_numerique.selection import services
from esms_numerique.selection.models import Envelope
from tests.selection.conftest import essms, instructed

pytestmark = pytest.mark.django_db


def figures_on(page: str) -> dict[str, str]:
    found = {}
    for figure in ("envelope", "engaged", "proposed", "remaining"):
        start = page.index(f'<td data-figure="{figure}">') + len(f'<td data-figure="{figure}">')
        found[figure] = page[start : page.index("</td>", start)]
    return found


def eur(amount: int) -> str:
    return f"{amount:,d} €".replace(",", "\u202f")


@pytest.fixture
def page(users, april):
    client = Client()
    client.force_login(users["ars"])
    url = f"/comites/{april['committee'].pk}/"

    def read() -> str:
        response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    return read


def test_the_figures_are_computed_once_while_nothing_changes(users, april, page, monkeypatch):
    computed = []
    original = services.compute_figures
    monkeypatch.setattr(services, "compute_figures", lambda committee: computed.append(1) or original(committee))
    first, second = page(), page()
    assert figures_on(first) == figures_on(second) and computed == [1]
    assert figures_on(second) == {
        "envelope": eur(500_000),
        "engaged": eur(105_000),
        "proposed": eur(0),
        "remaining": eur(395_000),
    }


def test_each_change_through_the_services_shows_at_once(users, april, page):
    ars, committee = users["ars"], april["committee"]
    page()
    # A proposal: Y and Z proposed.
    proposal = services.make_proposal(ars, committee, Settings())
    assert figures_on(page())["proposed"] == eur(210_000)
    # An override: Z out.
    services.set_override(ars, proposal, april["Z"], False, "Éditeur non confirmé.")
    assert figures_on(page()) == {
        "envelope": eur(500_000),
        "engaged": eur(105_000),
        "proposed": eur(105_000),
        "remaining": eur(290_000),
    }
    # A decision: Y retained, engaged now.
    item = committees.add_to_agenda(ars, committee, april["Y"])
    shown = page()
    assert f'data-reference="{april["Y"].reference}"' in shown.split('id="agenda"')[1].split("</table>")[0]
    committees.decide(ars, item, "retenu", "Score le plus élevé.")
    assert figures_on(page())["engaged"] == eur(210_000)
    # A new envelope.
    services.set_envelope(users["national"], "2024", "53", 600_000, dt.date(2024, 2, 1), "Avenant 1", "Rallonge.")
    assert figures_on(page())["envelope"] == eur(600_000)


def test_a_change_outside_the_services_shows_at_once(users, april, page):
    """A bulk load or a data fix writes the rows without the services (no audit entry): the stamp reads the rows."""
    assert figures_on(page())["engaged"] == eur(105_000)
    Dossier.objects.filter(pk=april["X"].pk).update(engaged_eur=100_000)
    assert figures_on(page())["engaged"] == eur(100_000)
    envelope = Envelope.objects.get()
    Envelope.objects.filter(pk=envelope.pk).update(amount_eur=450_000)
    assert figures_on(page())["envelope"] == eur(450_000)


def test_a_new_conflict_in_the_ledger_shows_at_once(users, april, page):
    """Y is eligible; another dossier filed later claims one of its ESSMS: the committee sees it before deciding."""
    y = april["Y"].reference
    shown = page()
    assert "Y" in shown and f"{essms(5, 1)[0]} :" not in shown
    instructed(users, "Y bis", essms(5, 1))
    assert f"{essms(5, 1)[0]} :" in page()
    assert y in page()


def test_the_proposal_page_shows_each_grid_and_candidate_at_once(users, april):
    ars, committee = users["ars"], april["committee"]
    client = Client()
    client.force_login(ars)
    url = f"/comites/{committee.pk}/proposition/"

    def row_of(reference: str) -> str:
        page = client.get(url).content.decode()
        return page.split(f'<tr data-reference="{reference}">')[1].split("</tr>")[0]

    y = april["Y"]
    assert "300 / 300" in row_of(y.reference)  # every note at 3
    codes = services.rules.grid_on(dt.date(2024, 3, 11)).codes()
    services.save_grid(ars, y, dict.fromkeys(codes, 1), {})
    assert "100 / 300" in row_of(y.reference)
    newcomer = instructed(users, "V", essms(17, 1))
    assert "à remplir" in row_of(newcomer.reference)
    # A settings form with errors is shown as sent, with its errors (not the cached empty form).
    page = client.post(url, {"objective": "essms", "acquisition_bonus": 500}).content.decode()
    assert "fr-error-text" in page or "errorlist" in page


def test_the_proposal_page_reads_as_many_queries_whatever_the_candidates(users, april):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(users["ars"])
    url = f"/comites/{april['committee'].pk}/proposition/"
    services.make_proposal(users["ars"], april["committee"], Settings())

    def count() -> int:
        client.get(url)  # the cache filled after the change
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = count()
    for n in range(3):
        instructed(users, f"V{n}", essms(17 + n, 1))
    services.make_proposal(users["ars"], april["committee"], Settings())
    # Session, user, profile, the committee, the stamp: the content comes from the cache while its data is unchanged.
    assert count() == small == 5


def test_the_cached_page_carries_each_request_s_csrf_token(users, april):
    """The content is kept with a marker in place of the token: each page's forms post with the reader's own."""
    import re

    from esms_numerique.caching import CSRF_MARKER

    committee = april["committee"]
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["ars"])
    url = f"/comites/{committee.pk}/"
    client.get(url)
    page = client.get(url).content.decode()  # from the cache
    assert CSRF_MARKER not in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    y = april["Y"].reference
    response = client.post(f"{url}inscrire/", {"reference": y, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    agenda = client.get(url).content.decode().split('id="agenda"')[1].split("</table>")[0]
    assert f'data-reference="{y}"' in agenda


def test_a_title_holding_the_marker_is_shown_as_written(users, april):
    """The token is put in the hidden inputs `{% csrf_token %}` rendered, whole: a dossier's title that holds the
    marker's text is shown unchanged, and the page's forms still post (CSRF enforced)."""
    import re

    from esms_numerique.caching import CSRF_MARKER

    committee, y = april["committee"], april["Y"]
    title = f"Grappe {CSRF_MARKER} des Monts"
    Dossier.objects.filter(pk=y.pk).update(title=title)
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["ars"])
    url = f"/comites/{committee.pk}/"
    client.get(url)
    page = client.get(url).content.decode()  # from the cache
    assert f"{y.reference} {title} (" in page
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert tokens and CSRF_MARKER not in tokens
    add_form = page.split(f'action="{url}inscrire/"')[1]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', add_form).group(1)
    response = client.post(f"{url}inscrire/", {"reference": y.reference, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    agenda = client.get(url).content.decode().split('id="agenda"')[1].split("</table>")[0]
    assert f'data-reference="{y.reference}"' in agenda and title in agenda


def test_the_pages_parts_are_kept_in_their_own_bounded_cache(users, april, page):
    """Not in `default` (the throttles', shared by the workers in production): in `pages`, per process, bounded."""
    from django.conf import settings
    from django.core.cache import caches

    from esms_numerique import caching

    assert settings.CACHES["pages"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert settings.CACHES["pages"]["OPTIONS"]["MAX_ENTRIES"] == 3000
    caching.pages().clear()
    caches["default"].clear()
    page()
    assert caching.pages()._cache and not caches["default"]._cache
    # One get-or-compute: made once per parts, a None kept as any value, other parts another entry.
    made = []
    for parts in (["a", 1], ["a", 1], ["a", 2]):
        assert caching.cached("test", parts, lambda: made.append(1)) is None
    assert made == [1, 1]


def test_the_committee_as_read_now_is_shown(users, april, page):
    from esms_numerique.dossiers.models import Committee

    page()
    Committee.objects.filter(pk=april["committee"].pk).update(label="Comité d'avril (reporté)")
    assert "<h1>Comité d&#x27;avril (reporté)</h1>" in page()


def test_the_coverage_shows_each_change_at_once(users, april):
    """The coverage counts the whole registry once per state of its data: a decision or a proposal shows at once."""
    cnsa = Client()
    cnsa.force_login(users["national"])

    def bretagne() -> str:
        page = cnsa.get("/selection/couverture/").content.decode()
        return page.split('<tr data-territory="53">')[1].split("</tr>")[0]

    assert "<td>21</td><td>5</td>" in bretagne()  # X retained in March: 5 of 21 ESSMS funded
    assert bretagne().endswith("<td>0</td><td>16</td>")
    services.make_proposal(users["ars"], april["committee"], Settings())  # Y and Z proposed: 10 ESSMS
    assert bretagne().endswith("<td>10</td><td>6</td>")
    ars = users["ars"]
    committees.decide(ars, committees.add_to_agenda(ars, april["committee"], april["Y"]), "retenu", "Retenu.")
    assert "<td>21</td><td>10</td>" in bretagne() and bretagne().endswith("<td>5</td><td>6</td>")


def test_a_sign_in_keeps_the_cache_a_change_does_not(users, april, page, monkeypatch):
    """A sign-in is audited but changes no figure: the content stays in the cache; a message posted (audited) is a
    change of data, read again."""
    from esms_numerique.audit.models import AuditEntry
    from esms_numerique.dossiers.services import post_message

    computed = []
    original = services.compute_figures
    monkeypatch.setattr(services, "compute_figures", lambda committee: computed.append(1) or original(committee))
    page()
    other = Client()
    other.force_login(users["national"])
    assert AuditEntry.objects.order_by("-id").first().action == "login"
    page()
    assert computed == [1]
    post_message(users["ars"], april["Y"], "Question au porteur.")
    page()
    assert computed == [1, 1]


def test_the_registry_counts_follow_the_registry(users, april, page):
    """The ESSMS of each territory are counted again with the figures; a change of the registry moves them."""
    from esms_numerique.dossiers.services import post_message
    from esms_numerique.registry.models import Establishment

    def essms_of_35(shown: str) -> str:
        return shown.split('<tr data-territory="35">')[1].split("</td>")[1]

    assert essms_of_35(page()) == "<td>20"
    Establishment.objects.filter(finess_et=essms(19, 1)[0]).update(sector="", sector_override="")
    post_message(users["ars"], april["Y"], "Question au porteur.")  # any change of data: the figures read again
    assert essms_of_35(page()) == "<td>19"


def test_a_dossier_s_new_version_is_split_again(users, april, page):
    """Each engaged dossier's split is kept per version: an ESSMS withdrawn after the decision moves the figures."""
    from esms_numerique.dossiers.changes import withdraw_essms

    assert figures_on(page())["engaged"] == eur(105_000)
    x = Dossier.objects.get(pk=april["X"].pk)
    withdraw_essms(users["ars"], x, x.version, essms(0, 1)[0], "ESSMS fermé.")
    x.refresh_from_db()
    assert x.engaged_eur < 105_000
    assert figures_on(page())["engaged"] == eur(x.engaged_eur)


JANUARY = {"350000022", "350001004", "350090007"}
APRIL = {"350000022", "350090015"}


@pytest.mark.parametrize(
    "on, expected",
    [
        ("2023-12-31", set()),
        ("2024-01-03", JANUARY),
        ("2024-02-01", JANUARY),
        ("2024-04-02", APRIL),
        ("2024-06-30", APRIL),
    ],
)
def test_the_open_essms_are_the_registry_s_on_each_date(db, on, expected):
    """open_on(...).essms(), which the figures and the coverage count in one pass over the registry (the extracts of
    that date a subquery), keeps the ESSMS imported by then and not closed by then."""
    from esms_numerique.registry.models import Establishment
    from esms_numerique.registry.services import import_extracts
    from tests.registry.test_import import et_line, extract

    import_extracts("janvier.csv", extract(et_line("350000022"), et_line("350001004"), et_line("350090007")))
    later = extract(et_line("350000022"), et_line("350090015"), meta="finess;etalab;43;2024-04-02")
    import_extracts("avril.csv", later)
    day = dt.date.fromisoformat(on)
    assert set(Establishment.objects.open_on(day).essms().values_list("finess_et", flat=True)) == expected
