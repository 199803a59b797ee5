"""The dossier's page kept once made (DECISION D-DOSSIER-PAGE-CACHE): for one reader, one state of what it reads and
one day. Every change made through the services, and every other input of the page, shows at the next reading; a
reader never gets another's page; each request carries its own CSRF token."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from esms_numerique import caching, clock
from esms_numerique.accounts.enums import Role
from esms_numerique.audit.services import record
from esms_numerique.dossiers.services import apply_transition, create_dossier, post_message
from esms_numerique.instruction.services import assign
from esms_numerique.registry.models import Establishment
from tests.dossiers.conftest import attach_pieces, campaign_2024, grappe, make_user, registry, users  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(users, settings):  # noqa: F811
    porteur = users["porteur"]
    dossier = attach_pieces(porteur, create_dossier(porteur, "Grappe de Rennes", "2024", grappe(3)))
    settings.ESMS_TODAY = "2024-03-12"
    return apply_transition(porteur, dossier, "deposer", dossier.version)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def read(client, dossier, query: str = "") -> tuple[str, int]:
    """The page and how many queries it took."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/dossiers/{dossier.reference}/{query}")
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_page_read_again_is_the_kept_one(users, filed):  # noqa: F811
    ars = client_for(users["ars"])
    first, made = read(ars, filed)
    again, kept = read(ars, filed)
    assert kept == 5 < made  # session, user, profile, the stamp, « lu le »
    assert read(ars, filed, "?utm=1&essms=pas-un-finess")[1] == 5  # parameters the page does not read: the same page
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', again)
    assert tokens and caching.CSRF_MARKER not in again
    # The same page but for the CSRF tokens (the forms', htmx's), which are the request's.
    assert re.sub(r"[A-Za-z0-9]{64}", "", first) == re.sub(r"[A-Za-z0-9]{64}", "", again)


def test_changes_through_the_services_show_at_once(users, filed):  # noqa: F811
    ars, porteur = users["ars"], users["porteur"]
    reader = client_for(ars)
    read(reader, filed)
    post_message(porteur, filed, "Voici le devis signé.")
    page, _ = read(reader, filed)
    assert "Voici le devis signé." in page
    assign(ars, filed, ars)
    page, _ = read(reader, filed)
    assert "M'attribuer le dossier" not in page
    filed.refresh_from_db()
    apply_transition(ars, filed, "declarer_recevable", filed.version)
    page, _ = read(reader, filed)
    assert "Déclarer recevable" in page and "Recevable" in page


def test_each_reader_has_their_own_page(users, filed):  # noqa: F811
    ars, porteur = users["ars"], users["porteur"]
    post_message(ars, filed, "Annotation : budget à vérifier.", private=True)
    instructor_page, _ = read(client_for(ars), filed)
    porteur_page, _ = read(client_for(porteur), filed)
    assert "budget à vérifier" in instructor_page and "budget à vérifier" not in porteur_page
    other_ars = client_for(users["autre_ars"])
    assert other_ars.get(f"/dossiers/{filed.reference}/").status_code == 404  # the door first, kept page or not


def test_what_is_not_the_dossiers_shows_at_once(users, filed):  # noqa: F811
    ars = users["ars"]
    reader = client_for(ars)
    page, _ = read(reader, filed)
    assert "Ne plus suivre ce dossier" in page  # its region's instructor follows it unless they said otherwise
    # Following is the reader's own choice, not audited: read in the stamp.
    reader.post(f"/dossiers/{filed.reference}/suivre/")
    page, _ = read(reader, filed)
    assert "Ne plus suivre ce dossier" not in page and "Suivre ce dossier" in page
    # A new colleague in the assignment's choices: accounts are not audited, their number is in the stamp.
    colleague = make_user("ars_bretagne_2", Role.ARS, region="53")
    colleague.last_name = "Le Goff"
    colleague.save()
    page, _ = read(reader, filed)
    assert "Le Goff" in page
    # A registry change (an audited change that is not a dossier's): the ESSMS' new name.
    finess = filed.grappe["essms"][0]["finess_et"]
    Establishment.objects.filter(finess_et=finess).update(name="EHPAD RENOMMÉ")
    record("admin", "change", "Establishment", finess)
    page, _ = read(reader, filed)
    assert "EHPAD RENOMMÉ" in page


def test_another_day_makes_the_page_again(users, filed):  # noqa: F811
    reader = client_for(users["ars"])
    read(reader, filed)
    _, kept = read(reader, filed)
    with clock.pinned(dt.date(2024, 3, 13)):
        _, next_day = read(reader, filed)
    assert kept == 5 < next_day


def test_an_account_renamed_in_the_admin_shows_its_new_name(users, filed):  # noqa: F811
    """Accounts change in Django's admin, audited there (accounts/admin.AccountAdmin): the name of the instructor the
    dossier is assigned to is the new one at the next reading; the password's hash is not written to the log."""
    from django.contrib.auth.models import User

    from esms_numerique.audit.models import AuditEntry

    ars = users["ars"]
    assign(ars, filed, ars)
    reader = client_for(ars)
    assert "Anne Le Bihan" not in read(reader, filed)[0]
    admin = User.objects.create_superuser("administratrice", password="x")
    response = client_for(admin).post(
        f"/admin/auth/user/{ars.pk}/change/",
        {
            "username": ars.username,
            "first_name": "Anne",
            "last_name": "Le Bihan",
            "email": "",
            "is_active": "on",
            "date_joined_0": "2024-03-01",
            "date_joined_1": "09:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.filter(object_type="User", object_id=ars.username).latest("id")
    assert (entry.actor, entry.action) == ("administratrice", "admin_change:user")
    assert (entry.after["first_name"], entry.after["last_name"]) == ("Anne", "Le Bihan")
    assert "password" not in entry.after and "pbkdf2" not in str(entry.after) + str(entry.before)
    assert "Anne Le Bihan" in read(reader, filed)[0]
