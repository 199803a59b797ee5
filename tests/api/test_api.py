"""The JSON API answers as the CLI does, refuses bad input in French, and documents itself."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from esms_numerique.cli import main
from tests.test_cli import ISSUE_EXAMPLE

pytestmark = pytest.mark.django_db


def post(client, url, data):
    body = data if isinstance(data, str) else json.dumps(data)
    return client.post(url, body, content_type="application/json")


def test_health(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_simulation_answers_the_same_as_the_cli(client):
    response = post(client, "/api/simulation", ISSUE_EXAMPLE)
    assert response.status_code == 200
    cli = CliRunner().invoke(main, ["simulate", "-"], input=json.dumps(ISSUE_EXAMPLE))
    assert response.json() == json.loads(cli.output)
    assert response.json()["total_eur"] == 86800


def test_sons_simulation(client):
    order = {
        "couloir": "MS1",
        "og_essms_count": 72,
        "finess_et": ["350000022", "350000014"],
        "ordered_on": "2023-05-01",
    }
    data = post(client, "/api/sons/simulation", order).json()
    assert (data["tranche"], data["rate_eur"], data["total_eur"], data["advance_eur"]) == ("E", 1232, 2464, 739)


def test_bad_input_gets_a_french_400(client):
    bad = {**ISSUE_EXAMPLE, "campaign": "2030", "essms": [{**ISSUE_EXAMPLE["essms"][0], "operation": "rachat"}]}
    response = post(client, "/api/simulation", bad)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "champ « campaign » : campagne inconnue « 2030 » (connues : 2022, 2024)" in errors
    assert (
        'champ « essms[0].operation » : valeur "rachat" inconnue (valeurs possibles : acquisition ou upgrade)' in errors
    )
    response = post(client, "/api/simulation", "{pas du json")
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("JSON illisible, ligne 1, colonne 2")


def test_openapi_schema_documents_the_simulators(client):
    schema = client.get("/api/openapi.json").json()
    assert {"/api/simulation", "/api/sons/simulation", "/api/health"} <= set(schema["paths"])
    body = schema["paths"]["/api/simulation"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/SimulationInput")
    sector = schema["components"]["schemas"]["Essms"]["properties"]["sector"]
    assert sector["enum"] == ["PA", "PH", "DOM", "PDS", "PDE", "AHI", "PJM"]
    assert "400" in schema["paths"]["/api/simulation"]["post"]["responses"]
