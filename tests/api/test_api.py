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


def test_anonymous_simulations_keep_the_simulator_pages_bounds(client, world):
    """Without a token or a session, the API simulates no more than the anonymous simulator page
    (`limits.anonymous_simulation_max_essms` and `…_max_chars`, D-ANONYMOUS-BOUNDS); a token or a session keeps
    the platform's cap (D-LIMITS)."""
    from esms_numerique.rules.parameters import default_tree
    from tests.rules.grappes import finess_for

    from .conftest import Api

    tree = default_tree()
    max_essms = tree.get("limits.anonymous_simulation_max_essms").values[-1].value
    max_chars = tree.get("limits.anonymous_simulation_max_chars").values[-1].value
    full = [{**ISSUE_EXAMPLE["essms"][0], "finess_et": finess_for("35", n)} for n in range(max_essms + 1)]
    big = {**ISSUE_EXAMPLE, "essms": full}
    assert len(json.dumps(big)) > max_chars
    refused = post(client, "/api/simulation", big)
    assert refused.status_code == 413
    assert refused.json()["code"] == "limite_sans_compte"
    assert "sans compte, la simulation en accepte 30\u202f000 au plus" in refused.json()["errors"][0]

    short = {**ISSUE_EXAMPLE, "essms": [{"finess_et": e["finess_et"], "sector": "PA"} for e in full]}
    assert len(json.dumps(short)) <= max_chars
    refused = post(client, "/api/simulation", short)
    assert refused.status_code == 400
    assert refused.json()["code"] == "limite_sans_compte"
    assert refused.json()["errors"][0].startswith("champ « essms » : 301 ESSMS ; sans compte, la simulation en accepte")
    order = {"couloir": "MS1", "og_essms_count": 400, "finess_et": [e["finess_et"] for e in full]}
    refused = post(client, "/api/sons/simulation", order)
    assert (refused.status_code, refused.json()["code"]) == (400, "limite_sans_compte")
    assert refused.json()["errors"][0].startswith("champ « finess_et » : 301 ESSMS")

    # a token, or a session, keeps the platform's cap
    token = Api(client, world["tokens"]["porteur"])
    answered = token.post("/api/simulation", big)
    assert answered.status_code == 200, answered.content
    assert answered.json()["essms_count"] == max_essms + 1
    assert token.post("/api/sons/simulation", order).status_code == 200
    client.force_login(world["users"]["ars"])
    assert post(client, "/api/simulation", big).status_code == 200
    client.logout()
    # an unknown token is no token: the anonymous bounds
    assert Api(client, "esmsn_inconnu").post("/api/simulation", big).status_code == 413


def test_refusals_before_the_api_carry_a_stable_code(client, settings):
    """The refusals written before a view runs (oversized body, NUL character, busy database) have the API's
    `code` too (docs/api.md)."""
    from django.db import OperationalError
    from django.test import RequestFactory

    from esms_numerique.www.busy import DatabaseBusyMiddleware

    settings.API_MAX_BODY_BYTES = 1024
    large = post(client, "/api/simulation", {**ISSUE_EXAMPLE, "padding": "x" * 2048})
    assert (large.status_code, large.json()["code"]) == (413, "trop_volumineux")
    nul = client.get("/api/finess", {"q": "a\x00b"})
    assert (nul.status_code, nul.json()["code"]) == (400, "entree_invalide")
    request = RequestFactory().get("/api/dossiers")
    busy = DatabaseBusyMiddleware(lambda r: None).process_exception(request, OperationalError("database is locked"))
    assert (busy.status_code, json.loads(busy.content)["code"]) == (503, "base_occupee")
