"""The web simulator: a porteur pastes a grappe and reads the same result as the CLI and the API."""

from __future__ import annotations

import pytest

from esms_numerique.www.forms import parse_essms_lines

pytestmark = pytest.mark.django_db

GRAPPE = "350000022;PA;acquisition;35;12\n350001004\tPH\tmontée de version\t35\t12\n"


def form_data(**overrides):
    data = {"campaign": "2024", "filed_on": "2024-03-10", "segur_referenced": "on", "vat_regime": "HT", "essms": GRAPPE}
    data.update(overrides)
    return data


def test_home_page_links_to_the_simulator(client):
    page = client.get("/").content.decode()
    assert 'href="/simulateur/"' in page
    assert "Simuler un projet" in page
    assert "dsfr" in page


def test_pasted_grappe_gives_desk_findings_and_amounts(client):
    response = client.post("/simulateur/", form_data())
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.desk, result.pivot_region, result.essms_count) == ("regional", "53", 2)
    assert (result.usage_eur, result.software_eur, result.total_eur) == (12000, 14000, 26000)
    page = response.content.decode()
    assert 'data-amount="total"><strong>26\u202f000 €' in page
    assert 'data-rule="E-MIN-SIZE" data-verdict="a_apprecier"' in page
    assert "esms_numerique/2024/funding/usage.upgrade_full_rate" in page


def test_errors_name_the_line(client):
    response = client.post("/simulateur/", form_data(essms="350000022;PA;acquisition\n350001004;XX;acquisition"))
    assert response.status_code == 400
    assert response.context["errors"] == [
        'ligne 2, secteur : valeur "XX" inconnue (valeurs possibles : PA, PH, DOM, PDS, PDE, AHI ou PJM)'
    ]
    assert "ligne 2, secteur : valeur &quot;XX&quot; inconnue" in response.content.decode()
    response = client.post("/simulateur/", form_data(essms="350000022;PA;rachat"))
    assert response.context["errors"] == ["ligne 1 : opération « rachat » inconnue (acquisition ou montée de version)"]
    assert response.context["result"] is None


def test_line_parser_reads_spreadsheet_pastes():
    essms, errors = parse_essms_lines("290000017\tDOM\tacquisition\t29\t40\t800\t1000\n\n  \n")
    assert errors == []
    assert essms == [
        {
            "finess_et": "290000017",
            "sector": "DOM",
            "operation": "acquisition",
            "_line": 1,
            "department": "29",
            "og_essms_count": 40,
            "saad_hours": {"medico_social": 800.0, "total": 1000.0},
        }
    ]
    assert parse_essms_lines("") == ([], ["indiquez au moins un ESSMS"])
    assert parse_essms_lines("350000022;PA;acquisition;35;douze")[1] == [
        "ligne 1 : nombre d'ESSMS de l'OG ou heures SAAD illisibles"
    ]


def test_the_page_answers_the_same_as_the_api(client):
    page = client.post("/simulateur/", form_data()).context["result"].as_dict()
    payload = {
        "campaign": "2024",
        "filed_on": "2024-03-10",
        "porteur": {"vat_regime": "HT"},
        "solution": {"segur_referenced": True},
        "essms": [
            {
                "finess_et": "350000022",
                "sector": "PA",
                "operation": "acquisition",
                "department": "35",
                "og_essms_count": 12,
            },
            {
                "finess_et": "350001004",
                "sector": "PH",
                "operation": "upgrade",
                "department": "35",
                "og_essms_count": 12,
            },
        ],
    }
    api = client.post("/api/simulation", payload, content_type="application/json").json()
    assert page == api


def test_finess_alone_is_completed_from_the_registry(client):
    from esms_numerique.registry.services import import_extracts
    from tests.registry.test_import import et_line, extract

    import_extracts("et.csv", extract(et_line("350000022"), et_line("350001004", category="183")))
    response = client.post("/simulateur/", form_data(essms="350000022\n350001004", operation="upgrade"))
    result = response.context["result"]
    assert [e["sector"] for e in result.essms] == ["PA", "PH"]
    assert result.usage_eur == 10000


def test_preview_partial(client):
    response = client.post("/simulateur/apercu/", form_data())
    assert 'data-amount="total"><strong>26\u202f000 €' in response.content.decode()
    assert "<html" not in response.content.decode()
    response = client.post("/simulateur/apercu/", form_data(essms="350000022;XX;acquisition"))
    assert "ligne 1, secteur" in response.content.decode()
