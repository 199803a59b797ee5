"""The route access matrix over the API, with tokens instead of sessions: every API operation of EXPECTED
(tests/test_route_access_matrix.py), for every role, on its own and on foreign objects, answers with a write token
exactly what it answers to the role's session, and changes the database only where the session would."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from esms_numerique.partners.models import ApiToken
from esms_numerique.partners.tokens import create_token
from tests.test_route_access_matrix import (
    ANON,
    CASES,
    EXPECTED,
    TODAY,
    WATCHED,
    body_text,
    changed_tables,
    mark_of,
    outcome,
    url_of,
    world,  # noqa: F401 (the matrix's world, built once for this module too)
)

API_CASES = [case for case in CASES if case.values[0].startswith("/") and case.values[3] != ANON]
# A token's last use is written as it is used: not a change of the request.
WATCHED_HERE = [model for model in WATCHED if model is not ApiToken]


@pytest.fixture(scope="module")
def tokens(world, django_db_blocker):  # noqa: F811
    with django_db_blocker.unblock():
        return {role: create_token(user, "matrice", "ecriture", None).secret for role, user in world["users"].items()}


def database() -> dict[str, list]:
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in WATCHED_HERE}


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "variant", "role", "expected"), API_CASES)
def test_api_route_with_a_token(world, tokens, settings, route, method, variant, role, expected):  # noqa: F811
    entry = EXPECTED[route]
    settings.ESMS_TODAY = entry.get("today", TODAY)
    url = url_of(route, variant, world)
    client = Client(headers={"Authorization": f"Bearer {tokens[role]}"})
    where = f"{role} (jeton) — {method.upper()} {url} ({route}, objet « {variant} »)"
    if method == "get":
        response = client.get(url)
    else:
        before = database()
        response = client.post(url, json.dumps(entry["body"](world, variant)), content_type="application/json")
        changed = changed_tables(before, database())
        if role in entry.get("changes", {}).get(variant, ()):
            assert changed, f"{where} : la requête de ce rôle devait aboutir et n'a rien changé"
        else:
            assert not changed, f"{where} : refusé ou sans effet attendu, mais la base a changé ({changed})"
    text = body_text(response)
    got = outcome(response)
    assert got == expected, f"{where} : attendu {expected}, reçu {got}"
    if got == 200:
        for name, readers in entry.get("shows", {}).get(variant, {}).items():
            shown = mark_of(world[name]) in text
            assert shown == (role in readers), f"{where} : « {name} » {'montré' if shown else 'caché'} à tort"
