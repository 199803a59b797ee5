"""Schemathesis against the live OpenAPI schema, through Django's WSGI application, as a porteur, a CNSA
instructor (instructeur_national) and an éditeur, each with a write token: bounded examples per operation, no
server error and every response matching its documented schema."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from esms_numerique.dossiers.services import create_dossier
from esms_numerique.partners.webhooks import register
from esms_numerique.sons.services import ItemRequest, sign_order

from .conftest import BZH, OG_BZH, grappe

pytestmark = pytest.mark.django_db
ROLES = ("porteur", "national", "editeur")
MAX_EXAMPLES = 4


@pytest.fixture
def same_connection():
    """As Django's test client: the requests run in the test's transaction (no connection closed between them)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_every_operation_answers_within_its_schema_for_each_role(world, settings, same_connection):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.ESMS_WEBHOOK_URLS = "loopback"
    users = world["users"]
    settings.ESMS_TODAY = "2023-05-02"
    order = sign_order(
        users["editeur"], world["bzh"], world["solution"], "PA", dt.date(2023, 5, 1), [ItemRequest(BZH[5], "4", "5")]
    )
    settings.ESMS_TODAY = "2024-03-11"
    dossier = create_dossier(users["porteur"], "Grappe", "2024", grappe(OG_BZH, BZH[0:3]))
    webhook = register(users["porteur"], "http://127.0.0.1:9/esms", "un-secret-de-seize-car")
    # Each example on what the strategy draws (mostly 404) and on real objects.
    known = {"/api/dossiers/": dossier.reference, "/api/sons/commandes/": order.reference}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            drawn = dict(case.path_parameters or {})
            variants = [drawn]
            if drawn:  # and the same request on real objects
                real = {**drawn, **({"pk": webhook.pk} if "pk" in drawn else {})}
                for prefix, reference in known.items():
                    if case.operation.path.startswith(prefix):
                        real["reference"] = reference
                variants.append(real)
            for variant, role in itertools.product(variants, ROLES):
                case.path_parameters = variant
                headers = {"Authorization": f"Bearer {world['tokens'][role]}"}
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except Exception as error:  # each operation's first failure, all reported at once
            failures.append(f"{operation.method.upper()} {operation.path} : {str(error)[:1500]}")
    assert not failures, "\n\n".join(failures)
