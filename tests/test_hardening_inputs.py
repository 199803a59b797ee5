"""Hostile input meets French 400/413/429 answers, exports never carry a live formula, and every page carries its
Content-Security-Policy and Permissions-Policy (DECISION D-LIMITS)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from django.core.cache import cache
from django.test import Client
from openpyxl import load_workbook

from esms_numerique.cli import main
from esms_numerique.dossiers.services import create_dossier
from esms_numerique.rules.errors import MAX_JSON_DEPTH, InputError, decode_json, parse
from esms_numerique.rules.inputs import SimulationInput, SonsInput, max_essms
from esms_numerique.rules.parameters import default_tree
from tests.dossiers.conftest import campaign_2024, grappe, registry, users  # noqa: F401 (fixtures)
from tests.rules.grappes import finess_for
from tests.test_cli import ISSUE_EXAMPLE

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HUGE_INTEGER = "9" * 5000
FORMULA = '=HYPERLINK("http://x","y")'


def post_json(client, url: str, text: str, **extra):
    return client.post(url, text, content_type="application/json", **extra)


def with_essms_field(field: str, raw: str) -> str:
    """The issue's example with one ESSMS field replaced by raw JSON text (NaN, a 5 000-digit integer…)."""
    essms = {**ISSUE_EXAMPLE["essms"][0], field: "@@"}
    return json.dumps({**ISSUE_EXAMPLE, "essms": [essms]}).replace('"@@"', raw)


# --- JSON read by the API, the CLI and the measurement uploads ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "champ « a » : nombre fini attendu (ni NaN ni Infinity), reçu NaN"),
        ('{"a": [1, Infinity]}', "champ « a[1] » : nombre fini attendu (ni NaN ni Infinity), reçu Infinity"),
        ('{"a": {"b": -Infinity}}', "champ « a.b » : nombre fini attendu (ni NaN ni Infinity), reçu -Infinity"),
        ('{"a": 1e999}', "champ « a » : nombre fini attendu (ni NaN ni Infinity), reçu Infinity"),
        (
            '{"a": ' + HUGE_INTEGER + "}",
            "JSON : nombre trop long (plus de 4 300 chiffres) ; au plus 9223372036854775807",
        ),
        ('{"a": ' + str(10**20) + "}", "champ « a » : nombre trop grand, au plus 9223372036854775807"),
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", f"JSON trop imbriqué : au plus {MAX_JSON_DEPTH} niveaux"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", f"JSON trop imbriqué : au plus {MAX_JSON_DEPTH} niveaux"),
        ('{"a": "x\\u0000y"}', "champ « a » : caractère nul (\\u0000) interdit"),
        ('{"a\\u0000": 1}', "champ « (racine) » : caractère nul (\\u0000) interdit dans un nom de champ"),
    ],
)
def test_json_outside_the_bounds_is_refused_in_french(text, message):
    with pytest.raises(InputError) as refused:
        decode_json(text)
    assert refused.value.messages[0].startswith(message)


def test_json_within_the_bounds_is_read_as_is():
    nested = '{"a": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    assert decode_json(nested)["a"]
    assert decode_json('{"a": 9223372036854775807, "b": -1.5e300, "c": "é"}') == {
        "a": 2**63 - 1,
        "b": -1.5e300,
        "c": "é",
    }


def test_the_cli_refuses_nan_in_french():
    result = CliRunner().invoke(main, ["simulate", "-"], input=with_essms_field("og_essms_count", "NaN"))
    assert result.exit_code == 2
    assert "champ « essms[0].og_essms_count » : nombre fini attendu (ni NaN ni Infinity), reçu NaN" in result.output


# --- The simulators' inputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("og_essms_count", "NaN", "champ « essms[0].og_essms_count » : nombre fini attendu"),
        ("og_essms_count", "Infinity", "champ « essms[0].og_essms_count » : nombre fini attendu"),
        ("og_essms_count", HUGE_INTEGER, "JSON : nombre trop long"),
        ("og_essms_count", str(10**20), "champ « essms[0].og_essms_count » : nombre trop grand"),
        ("og_essms_count", str(10**6), "champ « essms[0].og_essms_count » : doit être inférieur ou égal à 100000"),
        ("saad_hours", '{"medico_social": 1e308, "total": 1e308}', "champ « essms[0].saad_hours.medico_social » : "),
        ("finess_et", '"350000022\\u0000"', "champ « essms[0].finess_et » : caractère nul (\\u0000) interdit"),
        ("department", "[" * 50 + "]" * 50, "JSON trop imbriqué"),
    ],
)
def test_the_simulation_api_answers_400_in_french(client, field, raw, message):
    response = post_json(client, "/api/simulation", with_essms_field(field, raw))
    assert response.status_code == 400
    assert response.json()["detail"] == "Entrée invalide"
    assert response.json()["errors"][0].startswith(message), response.json()


def test_amounts_and_years_are_bounded():
    bad = {**ISSUE_EXAMPLE, "amoa_eur": 10**12, "previous_fundings": [{"finess_et": "350000022", "scheme": "sons"}]}
    bad["previous_fundings"][0]["year"] = 10**9
    with pytest.raises(InputError) as refused:
        parse(SimulationInput, bad)
    assert refused.value.messages == [
        "champ « amoa_eur » : doit être inférieur ou égal à 2147483647, reçu 1000000000000",
        "champ « previous_fundings[0].year » : doit être inférieur ou égal à 2100, reçu 1000000000",
    ]
    with pytest.raises(InputError, match="nombre fini attendu"):
        parse(SimulationInput, {**ISSUE_EXAMPLE, "essms": [{**ISSUE_EXAMPLE["essms"][0], "og_essms_count": 1e999}]})


def test_the_grappe_size_is_a_dated_parameter_citing_its_decision():
    parameter = default_tree().get("limits.simulation_max_essms")
    assert parameter.unit == "count"
    assert (parameter.values[-1].reference.text, parameter.values[-1].reference.section) == ("DECISION", "D-LIMITS")
    assert max_essms() == parameter.values[-1].value == 2000


def test_an_oversized_grappe_is_refused_before_anything_reads_it(client):
    essms = [{"finess_et": finess_for("35", n), "sector": "PA"} for n in range(max_essms() + 1)]
    response = post_json(client, "/api/simulation", json.dumps({**ISSUE_EXAMPLE, "essms": essms}))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "champ « essms » : au plus 2\u202f000 ESSMS par simulation (limite de la plateforme, D-LIMITS) ; reçu 2001"
    ]
    order = {"couloir": "MS1", "og_essms_count": 3, "finess_et": [finess_for("35", n) for n in range(2001)]}
    response = post_json(client, "/api/sons/simulation", json.dumps(order))
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "champ « finess_et » : au plus 2\u202f000 ESSMS par commande (limite de la plateforme, D-LIMITS) ; reçu 2001"
    ]
    with pytest.raises(InputError, match="au plus 2\u202f000 ESSMS par commande"):
        parse(SonsInput, {**order, "finess_et": ["350000022"], "essms": [{"finess_et": "350000022"}] * 2001})


def test_a_grappe_at_the_cap_is_simulated(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("connecte"))  # anonymous: D-ANONYMOUS-BOUNDS
    essms = [{**ISSUE_EXAMPLE["essms"][0], "finess_et": finess_for("35", n)} for n in range(max_essms())]
    response = post_json(client, "/api/simulation", json.dumps({**ISSUE_EXAMPLE, "essms": essms}))
    assert response.status_code == 200
    assert response.json()["essms_count"] == max_essms()


SIMULATOR_FORM = {"campaign": "2024", "filed_on": "2024-03-10", "segur_referenced": "on"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("350000022;PA;acquisition;35;" + HUGE_INTEGER, "ligne 1 : nombre d'ESSMS de l'OG ou heures SAAD illisibles"),
        ("350000022;PA;acquisition;35;" + str(10**20), "ligne 1, nombre d'ESSMS de l'OG : nombre trop grand"),
        ("350000022;PA;acquisition;35;1000000", "ligne 1, nombre d'ESSMS de l'OG : doit être inférieur ou égal à"),
        ("350000022;DOM;acquisition;35;12;nan;1000", "ligne 1, heures SAAD médico-sociales : nombre fini attendu"),
        ("350000022;DOM;acquisition;35;12;800;inf", "ligne 1, heures SAAD totales : nombre fini attendu"),
    ],
)
def test_the_simulator_page_answers_400_in_french(client, line, message):
    response = client.post("/simulateur/", {**SIMULATOR_FORM, "essms": line})
    assert response.status_code == 400
    assert response.context["errors"][0].startswith(message), response.context["errors"]
    assert message in response.content.decode().replace("&#x27;", "'")


def test_the_simulator_page_refuses_an_oversized_grappe(client, django_user_model):
    # Signed in: a visitor's page stops far earlier (DECISION D-ANONYMOUS-BOUNDS, tests/www/test_frame.py).
    client.force_login(django_user_model.objects.create_user("porteur", password="x"))
    lines = "\n".join(f"{finess_for('35', n)};PA;acquisition;35;12" for n in range(max_essms() + 1))
    response = client.post("/simulateur/", {**SIMULATOR_FORM, "essms": lines})
    assert response.status_code == 400
    assert response.context["errors"] == [
        "champ « essms » : au plus 2\u202f000 ESSMS par simulation (limite de la plateforme, D-LIMITS) ; reçu 2001"
    ]


# --- Addresses: NUL characters and pages ----------------------------------------------------------------------------


@pytest.fixture
def porteur_client(users):  # noqa: F811
    client = Client()
    client.force_login(users["porteur"])
    return client


@pytest.mark.parametrize(
    "url", ["/api/finess?q=%00", "/api/finess?q=a%00b", "/api/finess?%00=1", "/api/finess/%00", "/api/dossiers/%00"]
)
def test_a_nul_character_in_an_api_address_is_a_french_400(porteur_client, url):
    response = porteur_client.get(url)
    assert response.status_code == 400
    assert response.json() == {
        "code": "entree_invalide",
        "detail": "Requête invalide",
        "errors": ["L'adresse contient un caractère nul (%00), qu'aucun FINESS, référence ni recherche ne contient."],
    }


@pytest.mark.parametrize("url", ["/repertoire/%00/", "/repertoire/?q=%00", "/dossiers/%00/", "/simulateur/?x=%00"])
def test_a_nul_character_in_a_page_address_is_a_french_error_page(porteur_client, url):
    response = porteur_client.get(url)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Requête invalide" in page and "caractère nul (%00)" in page
    assert 'class="fr-header"' in page  # the site's page (DSFR), not a bare error


@pytest.mark.parametrize("page", ["99999999999999999999", HUGE_INTEGER, "100001", "0", "-1"])
def test_an_out_of_range_page_is_a_french_400(porteur_client, page):
    for url in ("/api/finess", "/api/dossiers"):
        response = porteur_client.get(url, {"page": page})
        assert response.status_code == 400, (url, page)
        assert response.json()["errors"][0].startswith("champ « page » : "), response.json()


def test_the_last_allowed_page_is_empty(porteur_client):
    response = porteur_client.get("/api/finess", {"page": "100000"})
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_search_filters_are_bounded(porteur_client):
    response = porteur_client.get("/api/finess", {"q": "x" * 201})
    assert response.status_code == 400
    assert response.json()["errors"] == ["champ « q » : texte trop long, au plus 200 caractères"]


def test_a_transition_body_is_read_within_the_bounds(users, porteur_client):  # noqa: F811
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe())
    url = f"/api/dossiers/{dossier.reference}/transitions"
    for version, message in (
        (str(10**20), "champ « version » : nombre trop grand"),
        ("NaN", "champ « version » : nombre fini attendu"),
        (HUGE_INTEGER, "JSON : nombre trop long"),
        (str(2**40), "champ « version » : doit être inférieur ou égal à 2147483647"),
    ):
        response = post_json(porteur_client, url, '{"transition": "deposer", "version": ' + version + "}")
        assert response.status_code == 400, version
        assert response.json()["errors"][0].startswith(message), response.json()


# --- Bodies ---------------------------------------------------------------------------------------------------------


def test_an_oversized_api_body_is_a_french_413(client, settings):
    settings.API_MAX_BODY_BYTES = 1024 * 1024
    body = json.dumps({**ISSUE_EXAMPLE, "padding": "x" * (1024 * 1024)})
    response = post_json(client, "/api/simulation", body)
    assert response.status_code == 413
    assert response.json() == {
        "code": "trop_volumineux",
        "detail": "Requête trop volumineuse",
        "errors": ["Le contenu envoyé dépasse la taille acceptée (1 Mo au plus)."],
    }
    assert post_json(client, "/api/simulation", json.dumps(ISSUE_EXAMPLE)).status_code == 200


def test_the_default_api_body_limit_is_two_megabytes(client):
    response = post_json(client, "/api/sons/simulation", '{"padding": "' + "x" * (2 * 1024 * 1024) + '"}')
    assert response.status_code == 413


def test_an_oversized_form_is_a_french_413_page(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    data = urlencode({**SIMULATOR_FORM, "essms": "350000022;PA;acquisition\n" * 1000})
    response = client.post("/simulateur/", data, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    page = response.content.decode()
    assert "Requête trop volumineuse" in page and "dépasse la taille acceptée" in page
    assert 'class="fr-header"' in page


def test_an_oversized_upload_is_a_413(porteur_client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.UPLOAD_MAX_BODY_BYTES = 1024 * 1024
    upload = SimpleUploadedFile("et.csv", b"x" * (1024 * 1024 + 1), content_type="text/csv")
    response = porteur_client.post("/repertoire/import/", {"et_file": upload})
    assert response.status_code == 413
    assert "dépasse la taille acceptée (1 Mo au plus)" in response.content.decode()


# --- Exports --------------------------------------------------------------------------------------------------------


def test_a_control_character_in_a_title_does_not_break_the_xlsx_export(users, porteur_client):  # noqa: F811
    dossier = create_dossier(users["porteur"], "Titre\x0bpiégé", "2024", grappe())
    response = porteur_client.get("/dossiers/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    titles = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert titles[dossier.reference] == "Titre piégé"
    text = porteur_client.get("/dossiers/export.csv").content.decode("utf-8-sig")
    assert dossier.reference in text


def test_exports_neutralise_formulas_and_keep_numbers(users, porteur_client):  # noqa: F811
    dossier = create_dossier(users["porteur"], FORMULA, "2024", grappe())
    create_dossier(users["porteur"], "+33 1 23 45 67 89", "2024", grappe(count=2))

    text = porteur_client.get("/dossiers/export.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    titles = {row[0]: row[1] for row in rows[1:]}
    assert titles[dossier.reference] == "'" + FORMULA
    assert "'+33 1 23 45 67 89" in titles.values()
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row if cell)

    content = porteur_client.get("/dossiers/export.xlsx").content
    sheet = load_workbook(io.BytesIO(content)).active
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == dossier.reference:
            title = row[1]
    assert title.value == FORMULA  # the text as typed, not a formula
    assert title.data_type == "s"
    assert title.quotePrefix
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert any(isinstance(cell.value, int) and cell.data_type == "n" for row in sheet.iter_rows() for cell in row)
    raw = __import__("zipfile").ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in raw


def test_csv_and_xlsx_cells_one_by_one():
    from openpyxl import Workbook

    from esms_numerique.www.exports import csv_cell, xlsx_cell

    assert [csv_cell(v) for v in ("=1+1", "+1", "-x", "@A1", "\tx", "\rx", "ok", -5, 2.5, None)] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@A1",
        "'\tx",
        "'\rx",
        "ok",
        -5,
        2.5,
        None,
    ]
    sheet = Workbook().active
    assert xlsx_cell(sheet, -5) == -5
    assert xlsx_cell(sheet, "ok") == "ok"
    cell = xlsx_cell(sheet, "=SUM(A1:A2)")
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=SUM(A1:A2)", "s", True)


# --- Throttling -----------------------------------------------------------------------------------------------------


@pytest.fixture
def throttles(settings):
    """Two requests a minute, a fresh count."""
    settings.ESMS_THROTTLE_RATES = {"api_simulation": "2/min", "simulator_page": "2/min"}
    cache.clear()
    yield
    cache.clear()


def test_the_simulation_api_is_throttled_per_address(client, throttles):
    body = json.dumps(ISSUE_EXAMPLE)
    assert post_json(client, "/api/simulation", body).status_code == 200
    assert post_json(client, "/api/sons/simulation", '{"couloir": "MS1"}').status_code == 400  # counted too
    refused = post_json(client, "/api/simulation", body)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"] == "Trop de requêtes"
    assert re.fullmatch(
        r"Trop de simulations depuis votre adresse : réessayez dans \d+ secondes\.", refused.json()["errors"][0]
    )
    assert post_json(client, "/api/sons/simulation", body).status_code == 429
    # Another address has its own count; a forged X-Forwarded-For is not another address (no trusted proxy).
    assert post_json(client, "/api/simulation", body, REMOTE_ADDR="10.0.0.2").status_code == 200
    assert post_json(client, "/api/simulation", body, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
    assert client.get("/api/health").status_code == 200  # not throttled


def test_the_simulator_pages_are_throttled_per_address(client, throttles):
    data = {**SIMULATOR_FORM, "essms": "350000022;PA;acquisition;35;12"}
    assert client.post("/simulateur/apercu/", data).status_code == 200
    assert client.post("/simulateur/", data).status_code == 200
    assert client.get("/simulateur/").status_code == 200  # reading the page is not counted
    refused = client.post("/simulateur/apercu/", data, HTTP_HX_REQUEST="true")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    fragment = refused.content.decode()
    assert 'id="form-errors"' in fragment and "Trop de simulations depuis votre adresse" in fragment
    assert "<html" not in fragment  # the preview shows the refusal in place
    page = client.post("/simulateur/", data)
    assert page.status_code == 429
    assert "Trop de simulations depuis votre adresse" in page.content.decode()
    assert client.post("/simulateur/", data, REMOTE_ADDR="10.0.0.3").status_code == 200


def test_throttles_follow_the_settings(client, settings):
    settings.ESMS_THROTTLE_RATES = {"api_simulation": "", "simulator_page": ""}
    cache.clear()
    body = json.dumps(ISSUE_EXAMPLE)
    assert all(post_json(client, "/api/simulation", body).status_code == 200 for _ in range(5))


# --- Headers --------------------------------------------------------------------------------------------------------


def test_every_page_carries_the_policies(porteur_client):
    for url in ("/", "/simulateur/", "/dossiers/", "/repertoire/", "/connexion/", "/api/docs", "/api/health"):
        response = porteur_client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy, url
        assert "camera=()" in response["Permissions-Policy"], url
    refused = porteur_client.get("/repertoire/%00/")
    assert "Content-Security-Policy" in refused and "Permissions-Policy" in refused


def test_swagger_ui_is_served_by_the_site(client):
    page = client.get("/api/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/static/ninja/swagger-ui-bundle.js" in sources
    assert "/static/ninja/swagger-ui.css" in sources
    assert all(source.startswith("/") for source in sources), sources
    assert "cdn" not in page.lower()
    for source in ("/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui-init.js"):
        response = client.get(source)
        assert response.status_code == 200
        response.close()


INLINE = re.compile(r"""\son[a-z]+\s*=|\sstyle\s*=|<script(?![^>]*\ssrc=)[^>]*>|javascript:|\shx-on""", re.I)


def test_no_template_holds_an_inline_script_handler_or_style():
    pages = ROOT / "esms_numerique" / "www" / "templates"
    found = [
        f"{path.relative_to(pages)}: {match.group(0).strip()}"
        for path in pages.rglob("*.html")
        for match in INLINE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_pdfs_and_svg_charts_keep_their_own_policy(users, settings):  # noqa: F811
    from django.http import HttpResponse
    from django.test import RequestFactory

    from esms_numerique.www.limits import PageCSPMiddleware

    pdf = PageCSPMiddleware(lambda request: HttpResponse(b"%PDF-1.4", content_type="application/pdf"))
    response = pdf(RequestFactory().get("/dossiers/X/notification.pdf"))
    assert "Content-Security-Policy" not in response  # Chrome's PDF viewer would show nothing under a page policy
    national = Client()
    national.force_login(users["national"])
    chart = national.get("/suivi/graphique-dui-actifs.svg")
    assert chart.status_code == 200
    assert chart["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
