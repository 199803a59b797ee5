"""Every URL of the site and every API operation, for every role, on its own, a foreign and a draft object.

The routes are read from the URL resolver and from the API's OpenAPI schema: a new route without an entry in
EXPECTED fails the suite, and so does an entry whose route is gone. Each role GETs every route (and POSTs to every
route that changes something, with a minimal body that reaches the access check); a role that is refused gets 302
to the login page (anonymous), 401 (anonymous, API), 403 or 404 — and the database is left exactly as it was. The
admin's URLs, generated per registered model, are checked by one rule: the administrator's only."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver, reverse

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.api.api import api
from esms_numerique.dossiers import committees
from esms_numerique.dossiers.models import Dossier
from esms_numerique.dossiers.payments import issue_recovery
from esms_numerique.dossiers.services import add_piece, apply_transition, create_dossier, post_message
from esms_numerique.indicators.services import funded_essms, record_measurements
from esms_numerique.jobs import services as jobs
from esms_numerique.jobs.models import Job
from esms_numerique.partners.models import SignedOrderForm, Webhook
from esms_numerique.registry.models import LegalEntity
from esms_numerique.registry.services import import_extracts
from esms_numerique.rules.finess import with_key
from esms_numerique.rules.parameters import default_tree
from esms_numerique.sons.models import Editor, Solution
from esms_numerique.sons.services import ItemRequest, apply_order_transition, sign_order
from tests.dossiers.conftest import paid_through_request
from tests.registry.test_import import et_line, extract
from tests.rules.grappes import finess_for

OG_BZH = "350000014"  # the porteur's OG, Ille-et-Vilaine (Bretagne, 53)
OG_IDF = with_key("75000010")  # the other porteur's OG, Paris (Île-de-France, 11)
BZH = [finess_for("35", n) for n in range(40)]
IDF = [finess_for("75", n) for n in range(10)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# The platform's date during the requests: the dossiers are in deployment, their measurement of 30/06 is past.
TODAY = "2024-08-31"


def pieces_of(campaign: str = "2024") -> list[str]:
    tree = default_tree().get(f"esms_numerique/{campaign}/eligibility/pieces.standard")
    return [row["code"] for row in tree.values[-1].value]


def grappe(og: str, numbers: list[str]) -> dict:
    return {
        "porteur": {"finess_ej": og, "vat_regime": "TTC"},
        "solution": {"segur_referenced": True},
        "operation": "acquisition",
        "essms": [{"finess_et": n} for n in numbers],
    }


def make_user(username: str, role: Role | None = None, **profile) -> User:
    user = User.objects.create_user(username, password="x")
    if role:
        Profile.objects.create(user=user, role=role, **profile)
    return user


def filed(porteur, title: str, og: str, numbers: list[str]):
    dossier = create_dossier(porteur, title, "2024", grappe(og, numbers))
    for code in pieces_of():
        add_piece(porteur, dossier, code, SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf"))
    dossier.refresh_from_db()
    return apply_transition(porteur, dossier, "deposer", dossier.version)


def step(user, dossier, *names: str):
    for name in names:
        dossier = apply_transition(user, dossier, name, dossier.version)
    return dossier


def rates(dossier, date: str) -> dict:
    """A result of `esms indicateurs calculer`: 40 people, 38 active, every target met."""
    people, active = 40, 38
    counts = {
        "people_accompanied": people,
        "active_dossiers": active,
        "active_with_pp": active,
        "active_with_event": active,
        "mss_messages": people,
        "dmp_people_fed": people,
    }
    measure = counts | {
        "active_rate": round(active / people, 6),
        "pp_rate": 1.0,
        "agenda_rate": 1.0,
        "mss_rate": 1.0,
        "dmp_rate": 1.0,
    }
    return {
        "measurement_date": date,
        "window_start": "2024-04-01",
        "window_end": date,
        "essms": {n: dict(measure) for n in funded_essms(dossier)},
    }


def build_users(bzh, idf, editor, other_editor) -> dict[str, User]:
    return {
        "porteur": make_user("porteur", Role.PORTEUR, legal_entity=bzh),
        "autre_porteur": make_user("autre_porteur", Role.PORTEUR, legal_entity=idf),
        "ars": make_user("ars_bretagne", Role.ARS, region="53"),
        "autre_ars": make_user("ars_idf", Role.ARS, region="11"),
        "national": make_user("cnsa", Role.NATIONAL),
        "observateur": make_user("grades_bretagne", Role.OBSERVER, region="53"),
        "editeur": make_user("editeur", Role.EDITEUR, editor=editor),
        "autre_editeur": make_user("autre_editeur", Role.EDITEUR, editor=other_editor),
        "sans_role": make_user("sans_role"),
        "admin": User.objects.create_superuser("admin", password="x"),
    }


@override_settings(ESMS_TODAY="2023-05-02")  # the MS1 couloir is open
def build_orders(world: dict, bzh, idf, solutions) -> None:
    users = world["users"]
    world["order"] = sign_order(
        users["editeur"], bzh, solutions[0], "PA", dt.date(2023, 5, 1), [ItemRequest(BZH[30], "4.2", "5.0")]
    )
    world["foreign_order"] = sign_order(
        users["autre_editeur"], idf, solutions[1], "PA", dt.date(2023, 5, 1), [ItemRequest(IDF[9], "4.2", "5.0")]
    )
    for order, editor in ((world["order"], "editeur"), (world["foreign_order"], "autre_editeur")):
        pdf = SimpleUploadedFile("bon-signe.pdf", PDF, content_type="application/pdf")
        SignedOrderForm.objects.create(
            order=order, file=pdf, original_name="bon-signe.pdf", sha256="0" * 64, uploaded_by=users[editor]
        )
    # cancelled after its advance was paid: the advance is owed back (an order to pay back, D-RECOVERY)
    cancelled = sign_order(
        users["editeur"], bzh, solutions[0], "PA", dt.date(2023, 5, 1), [ItemRequest(BZH[31], "4.2", "5.0")]
    )
    for user, name in (("editeur", "demander_avance"), ("national", "verser_avance"), ("porteur", "annuler")):
        cancelled = apply_order_transition(users[user], cancelled, name, cancelled.version, "L'OG renonce.")
    world["order_recovery"] = cancelled.recoveries.get()


@override_settings(ESMS_TODAY="2024-03-11")  # the 2024 campaign's window is open
def build_dossiers(world: dict) -> None:
    """Bretagne: a dossier in deployment (own), one on a committee's agenda, one under instruction (pending), one
    waiting for its advance (paying), a draft; Paris: a filed dossier (foreign). Committees of both ARS and CNSA."""
    users = world["users"]
    porteur, ars = users["porteur"], users["ars"]
    own = step(ars, filed(porteur, "Grappe Bretagne", OG_BZH, BZH[0:3]), "declarer_recevable", "instruire")
    agenda = step(ars, filed(porteur, "Grappe à l'ordre du jour", OG_BZH, BZH[3:5]), "declarer_recevable", "instruire")
    pending = step(ars, filed(porteur, "Grappe en instruction", OG_BZH, BZH[5:7]), "declarer_recevable")
    world["pending"] = step(ars, pending, "instruire")
    paying = step(ars, filed(porteur, "Grappe en paiement", OG_BZH, BZH[9:11]), "declarer_recevable", "instruire")
    world["draft"] = create_dossier(porteur, "Brouillon", "2024", grappe(OG_BZH, BZH[7:9]))
    code = pieces_of()[0]
    world["draft_piece"] = add_piece(porteur, world["draft"], code, SimpleUploadedFile(f"{code}.pdf", PDF))
    world["foreign"] = filed(users["autre_porteur"], "Grappe parisienne", OG_IDF, IDF[0:3])
    committee = committees.create_committee(ars, "Comité breton", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    for retained in (own, paying):
        committees.decide(ars, committees.add_to_agenda(ars, committee, retained), "retenu", "Retenu.")
        retained.refresh_from_db()
    world["item"] = committees.add_to_agenda(ars, committee, agenda)
    world["committee"] = committee
    world["foreign_committee"] = committees.create_committee(
        users["autre_ars"], "Comité francilien", dt.date(2024, 4, 12), dt.date(2024, 3, 31)
    )
    world["national_committee"] = committees.create_committee(
        users["national"], "Comité national", dt.date(2024, 4, 15), dt.date(2024, 3, 31)
    )
    paying = step(ars, paying, "engager", "signer_convention")
    paying = apply_transition(porteur, paying, "demander_avance", paying.version)
    world["payment"] = paying.payment_requests.get()  # asked, not yet approved
    own = paid_through_request(porteur, ars, step(ars, own, "engager", "signer_convention"))
    world["own"] = apply_transition(porteur, own, "demarrer_deploiement", own.version)
    world["message"] = post_message(porteur, own, "Une question du porteur au fil.").body
    world["annotation"] = post_message(ars, own, "Annotation privée : à surveiller.", private=True).body


def build_jobs(world: dict) -> None:
    """The porteur's ZIP of its dossier, run here: the world's transaction never commits, so no task is queued."""
    job = jobs.start_dossier_bundle(world["users"]["porteur"], world["own"])
    jobs.run(job.pk)
    world["job"] = Job.objects.get(pk=job.pk)


def build_world() -> dict:
    lines = [et_line(n, finess_ej=OG_BZH) for n in BZH]
    lines += [et_line(n, finess_ej=OG_IDF, department="75") for n in IDF]
    import_extracts("et.csv", extract(*lines, meta="finess;etalab;1;2023-01-03"))
    bzh, idf = LegalEntity.objects.get(finess_ej=OG_BZH), LegalEntity.objects.get(finess_ej=OG_IDF)
    editor = Editor.objects.create(name="Éditeur synthétique", siret="73282932000074")
    other_editor = Editor.objects.create(name="Autre éditeur", siret="35600000000048")
    solutions = [
        Solution.objects.create(editor=e, name="DUI", version="5.0", couloir="MS1", referencing="reference")
        for e in (editor, other_editor)
    ]
    world = {"users": build_users(bzh, idf, editor, other_editor)}
    build_orders(world, bzh, idf, solutions)
    build_dossiers(world)
    own, users = world["own"], world["users"]
    with override_settings(ESMS_TODAY="2024-07-15"):  # the measurement of 30/06 is in the past
        record_measurements(users["porteur"], own, rates(own, "2024-06-30"))
    # what was paid beyond a lower amount is owed back (an order to pay back, D-RECOVERY)
    world["recovery"] = issue_recovery(own, own.advance_paid_eur - 1000, "Trop-perçu.", users["ars"].get_username())
    own.refresh_from_db()
    world["piece"] = own.pieces.first()
    world["foreign_piece"] = world["foreign"].pieces.first()
    build_jobs(world)
    # the éditeur's webhook (issue 14); the world's transaction never commits, so nothing is delivered
    world["webhook"] = Webhook.objects.create(
        user=users["editeur"], url="https://partenaire.example/esms", secret="un-secret-de-seize-car"
    )
    world["finess"] = BZH[0]
    world["sessions"] = {}  # one session per role for the module; each test's client only carries its cookie
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        world["sessions"][role] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return world


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module, inside a transaction rolled back at its end; each test runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


# ---------------------------------------------------------------------------------------------------------------
# Who is who, and who sees what in the world above.

ANON = "anonyme"
ROLES = [
    "porteur",
    "autre_porteur",
    "ars",
    "autre_ars",
    "national",
    "observateur",
    "editeur",
    "autre_editeur",
    "sans_role",
    "admin",
    ANON,
]
LOGGED_IN = frozenset(ROLES) - {ANON}
PORTEURS = {"porteur", "autre_porteur"}
EDITEURS = {"editeur", "autre_editeur"}
# The porteur's filed Bretagne dossier (pivot 53): its OG, the Bretagne ARS and GRADeS, CNSA, the administrator.
SEES_OWN = {"porteur", "ars", "observateur", "national", "admin"}
# The other OG's filed Paris dossier (pivot 11).
SEES_FOREIGN = {"autre_porteur", "autre_ars", "national", "admin"}
# A draft: its porteur only (issue 9).
SEES_DRAFT = {"porteur"}
# SONS orders: the éditeur, the OG, the ARS and GRADeS of the ESSMS' region, CNSA, the administrator.
SEES_ORDER = {"editeur", "porteur", "ars", "observateur", "national", "admin"}
SEES_FOREIGN_ORDER = {"autre_editeur", "autre_porteur", "autre_ars", "national", "admin"}
# The follow-up page and the per-OG view: ARS, GRADeS, national teams, administrators.
FOLLOWERS = {"ars", "autre_ars", "observateur", "national", "admin"}
# Committees: instructors (ARS, CNSA) and administrators.
COMMITTEE_ROLES = {"ars", "autre_ars", "national", "admin"}

# Outcomes: a status code, or one of these.
LOGIN = "302 → connexion"
BACK = "302"  # a redirect elsewhere than the login page: after a success, or back to the page with a refusal


def everyone(outcome) -> dict:
    return dict.fromkeys(ROLES, outcome)


def only(allowed, ok=200, denied=404, anon=LOGIN, **exceptions) -> dict:
    """`ok` for the roles in `allowed`, `denied` for the other signed-in roles, `anon` for the anonymous visitor;
    `exceptions` name the roles that get something else."""
    outcomes = {role: ok if role in allowed else denied for role in LOGGED_IN}
    outcomes[ANON] = anon
    outcomes.update(exceptions)
    return {role: outcomes[role] for role in ROLES}


def api_only(allowed, ok=200, denied=404, **exceptions) -> dict:
    return only(allowed, ok=ok, denied=denied, anon=401, **exceptions)


def on(*variants: str, outcomes: dict) -> dict:
    return dict.fromkeys(variants, outcomes)


def ref(name: str):
    return lambda w: {"reference": w[name].reference}


NONE = {"-": lambda w: {}}
DOSSIERS = {"own": ref("own"), "foreign": ref("foreign"), "draft": ref("draft")}
ORDERS = {"own": ref("order"), "foreign": ref("foreign_order")}
COMMITTEES = {
    "own": lambda w: {"pk": w["committee"].pk},
    "foreign": lambda w: {"pk": w["foreign_committee"].pk},
    "national": lambda w: {"pk": w["national_committee"].pk},
}


PIECES = {
    "own": lambda w: {"reference": w["own"].reference, "piece_id": w["piece"].pk},
    "foreign": lambda w: {"reference": w["foreign"].reference, "piece_id": w["foreign_piece"].pk},
    "draft": lambda w: {"reference": w["draft"].reference, "piece_id": w["draft_piece"].pk},
    # a piece of another dossier, asked under a dossier one sees
    "mismatch": lambda w: {"reference": w["own"].reference, "piece_id": w["foreign_piece"].pk},
}


def with_args(objects: dict, **extra) -> dict:
    return {variant: (lambda w, args=args: args(w) | extra) for variant, args in objects.items()}


# ---------------------------------------------------------------------------------------------------------------
# POST bodies: the smallest body that reaches the access check (a refused role then changes nothing).

SIMULATION = {
    "campaign": "2024",
    "filed_on": "2024-03-10",
    "porteur": {"finess_ej": OG_BZH, "vat_regime": "TTC"},
    "solution": {"segur_referenced": True},
    "essms": [
        {"finess_et": "350000022", "finess_ej": OG_BZH, "department": "35", "sector": "PA"}
        | {"operation": "acquisition", "og_essms_count": 12}
    ],
}
SONS_SIMULATION = {"couloir": "MS1", "og_essms_count": 72, "finess_et": ["350000022"], "ordered_on": "2023-05-01"}
TRANSITIONS = {"own": "enregistrer_cibles", "foreign": "declarer_recevable", "draft": "deposer"}
ORDER_OF = {"own": "order", "foreign": "foreign_order"}


def transition_body(w, variant):
    dossier = w[variant]
    return {"transition": TRANSITIONS[variant], "version": dossier.version}


def measurements_file(w, variant):
    data = json.dumps(rates(w[variant], "2024-07-31")).encode()
    return {"result": SimpleUploadedFile("mesures.json", data, content_type="application/json")}


def piece_body(w, variant):
    return {"code": pieces_of()[0], "file": SimpleUploadedFile("piece.pdf", PDF, content_type="application/pdf")}


def revision_body(w, variant):
    dossier = w[variant]
    return {"version": dossier.version, "amount_eur": dossier.engaged_eur or 0, "reason": "Révision motivée."}


def order_transition_body(w, variant):
    order = w[ORDER_OF[variant]]
    return {"transition": "demander_avance", "version": order.version}


def va_body(w, variant):
    return {f"{item.pk}-va_prestation_done": "oui" for item in w[ORDER_OF[variant]].items.all()}


def empty(w, variant):
    return {}


# ---------------------------------------------------------------------------------------------------------------
# The table. Keys: "www:<name>" for the site's pages, the OpenAPI path for the API's operations, "api:<name>" for
# the API's other URLs. For each method, for each object the route takes ("-" when it takes none), the outcome per
# role. `changes`: the roles whose POST must change the database; for every other role, nothing may change.
# `shows`: for an object, which roles find each thing of the world (a reference, a label, a text) in the page.
# `today`: the platform's date for the route's requests, when it is not TODAY.

LISTED = {"own": SEES_OWN, "pending": SEES_OWN, "foreign": SEES_FOREIGN, "draft": SEES_DRAFT}
ORDERS_LISTED = {"order": SEES_ORDER, "foreign_order": SEES_FOREIGN_ORDER}

EXPECTED: dict[str, dict] = {
    # Public pages.
    "www:home": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "www:simulator": {
        "args": NONE,
        "get": on("-", outcomes=everyone(200)),
        "post": on("-", outcomes=everyone(200)),
        "body": empty,
    },
    "www:simulator_preview": {
        "args": NONE,
        "get": on("-", outcomes=everyone(405)),
        "post": on("-", outcomes=everyone(200)),
        "body": empty,
    },
    "www:sons_checklist": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    # The pages the DSFR footer requires (issue 12).
    "www:accessibility": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "www:legal_notice": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "www:personal_data": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "www:sitemap": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "www:login": {
        "args": NONE,
        "get": on("-", outcomes=everyone(200)),
        "post": on("-", outcomes=everyone(200)),
        "body": empty,
    },
    "www:logout": {
        "args": NONE,
        "get": on("-", outcomes=everyone(200)),  # the page with the sign-out button (issue 12)
        "post": on("-", outcomes=everyone(BACK)),
        "body": empty,
    },
    # Dossiers.
    "www:dossier_list": {"args": NONE, "get": on("-", outcomes=only(LOGGED_IN)), "shows": {"-": LISTED}},
    "www:dossier_export": {
        "args": {"-": lambda w: {"fmt": "csv"}},
        "get": on("-", outcomes=only(LOGGED_IN)),
        "shows": {"-": LISTED},
    },
    "www:dossier_create": {
        "args": NONE,
        "get": on("-", outcomes=only(PORTEURS, denied=403)),
        "post": on("-", outcomes=only(PORTEURS, denied=403)),
        "body": empty,
    },
    "www:dossier_preview": {
        "args": NONE,
        "get": on("-", outcomes=everyone(405)),
        "post": on("-", outcomes=only(PORTEURS, denied=403)),
        "body": empty,
    },
    "www:dossier_detail": {
        "args": DOSSIERS,
        "get": {"own": only(SEES_OWN), "foreign": only(SEES_FOREIGN), "draft": only(SEES_DRAFT)},
        # The instructors' private annotation: instructors and administrators who see the dossier.
        "shows": {"own": {"message": SEES_OWN, "annotation": {"ars", "national", "admin"}}},
    },
    "www:dossier_edit": {
        # A grappe is edited by its porteur while it is a draft (or a correction is asked): a filed dossier is not.
        "args": DOSSIERS,
        "get": {"own": only(SEES_OWN, ok=403), "foreign": only(SEES_FOREIGN, ok=403), "draft": only(SEES_DRAFT)},
        "post": {"own": only(SEES_OWN, ok=403), "foreign": only(SEES_FOREIGN, ok=403), "draft": only(SEES_DRAFT)},
        "body": empty,
    },
    "www:dossier_transition": {
        # own: « enregistrer les cibles » (instructors); foreign: « déclarer recevable »; draft: « déposer ».
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),
            "draft": only(SEES_DRAFT, ok=BACK),  # refused by its guard: no pieces yet
        },
        "body": transition_body,
        "changes": {"own": {"ars"}, "foreign": {"autre_ars"}},
    },
    "www:dossier_document": {
        "args": with_args(DOSSIERS, document="annexe-2"),
        "get": {"own": only(SEES_OWN), "foreign": only(SEES_FOREIGN), "draft": only(SEES_DRAFT)},
    },
    "www:dossier_notification": {
        # Only the retained dossier has a decision to notify.
        "args": DOSSIERS,
        "get": {"own": only(SEES_OWN), "foreign": only(()), "draft": only(())},
    },
    "www:dossier_revise_amount": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),  # nothing engaged yet: refused, back to the page
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": revision_body,
        "changes": {"own": {"ars"}},
    },
    "www:dossier_measurements": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, porteur=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_porteur=BACK),  # not in deployment: refused
            "draft": only(SEES_DRAFT, ok=BACK),  # not in deployment: refused
        },
        "body": measurements_file,
        "changes": {"own": {"porteur"}},
    },
    "www:dossier_trajectory": {
        "args": DOSSIERS,
        "get": {"own": only(SEES_OWN), "foreign": only(SEES_FOREIGN), "draft": only(SEES_DRAFT)},
    },
    "www:dossier_message": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, porteur=BACK, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_porteur=BACK, autre_ars=BACK),
            "draft": only(SEES_DRAFT, ok=BACK),
        },
        "body": lambda w, variant: {"body": "Un message au fil."},
        "changes": {"own": {"porteur", "ars"}, "foreign": {"autre_porteur", "autre_ars"}, "draft": {"porteur"}},
    },
    # Instruction (issue 12): the dossier's instructors only; whoever else sees the dossier is refused (403).
    "www:dossier_assign": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {"instructor": "moi"},
        "changes": {"own": {"ars"}, "foreign": {"autre_ars"}},
    },
    "www:dossier_hand_over": {
        # Neither dossier is multiregional: the pivot ARS is told so, back to the page; nothing changes.
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {"version": w[variant].version, "reason": "Projet complexe."},
    },
    "www:dossier_ask_opinion": {
        # No expert in this world: the instructor's form is refused, back to the page.
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {"expert": w["users"]["observateur"].pk, "question": "Votre avis ?"},
    },
    "www:dossier_answer_opinion": {
        # No opinion asked in this world: none to answer (tests/instruction/test_expert_opinion.py).
        "args": {"own": lambda w: {"reference": w["own"].reference, "pk": 0}},
        "get": on("own", outcomes=everyone(405)),
        "post": {"own": only(())},
        "body": lambda w, variant: {"answer": "Avis."},
    },
    "www:dossier_piece_upload": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, porteur=BACK),  # filed: pieces no longer change
            "foreign": only(SEES_FOREIGN, ok=403, autre_porteur=BACK),
            "draft": only(SEES_DRAFT, ok=BACK),
        },
        "body": piece_body,
        "changes": {"draft": {"porteur"}},
    },
    "www:dossier_convention": {
        # Generated from the amount engaged: none before the decision.
        "args": DOSSIERS,
        "get": {"own": only(SEES_OWN), "foreign": only(()), "draft": only(())},
    },
    "www:dossier_payment_action": {
        # « approuver » the advance the porteur asked for on another Bretagne dossier (mismatch: under the Paris one).
        "args": {
            "own": lambda w: {"reference": w["payment"].dossier.reference, "pk": w["payment"].pk},
            "mismatch": lambda w: {"reference": w["foreign"].reference, "pk": w["payment"].pk},
        },
        "get": on("own", "mismatch", outcomes=everyone(405)),
        "post": {"own": only(SEES_OWN, ok=403, ars=BACK), "mismatch": only(())},
        "body": lambda w, variant: {"transition": "approuver", "version": w["payment"].version},
        "changes": {"own": {"ars"}},
    },
    "www:dossier_recovery_received": {
        "args": {
            "own": lambda w: {"reference": w["own"].reference, "pk": w["recovery"].pk},
            "mismatch": lambda w: {"reference": w["foreign"].reference, "pk": w["recovery"].pk},
        },
        "get": on("own", "mismatch", outcomes=everyone(405)),
        "post": {"own": only(SEES_OWN, ok=403, ars=BACK), "mismatch": only(())},
        "body": lambda w, variant: {f"r{w['recovery'].pk}-reference": "ENCAISSEMENT-1"},
        "changes": {"own": {"ars"}},
    },
    "www:dossier_withdraw_essms": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),  # not retained: refused
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {
            "version": w[variant].version,
            "finess_et": w[variant].grappe["essms"][-1]["finess_et"],
            "reason": "Décision de l'ARS.",
        },
        "changes": {"own": {"ars"}},
    },
    "www:dossier_join_essms": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            # The instructors of a retained dossier; a refusal by the rules comes back to the page (302).
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),  # not retained: refused
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {
            "version": w[variant].version,
            "finess_et": w[variant].grappe["essms"][0]["finess_et"],  # already in it: refused, nothing changes
            "agreement": "on",
            "timetable": "Déploiement au second semestre.",
            "reason": "Décision de l'ARS.",
        },
    },
    "www:dossier_follow": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            # Instructors and observers who see the dossier follow it; the others who see it are refused (403).
            "own": only(SEES_OWN, ok=BACK, porteur=403, admin=403),
            "foreign": only(SEES_FOREIGN, ok=BACK, autre_porteur=403, admin=403),
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": empty,
        "changes": {"own": {"ars", "observateur", "national"}, "foreign": {"autre_ars", "national"}},
    },
    "www:notification_preferences": {
        "args": NONE,
        "get": on("-", outcomes=only(LOGGED_IN)),
        "post": {"-": only(LOGGED_IN, ok=BACK)},
        "body": lambda w, variant: {"paiement": "quotidien"},
        "changes": {"-": LOGGED_IN},
    },
    "www:dossier_transfer": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {
            "version": w[variant].version,
            "finess_ej": OG_IDF if variant == "own" else OG_BZH,
            "reason": "Fusion des OG.",
        },
        "changes": {"own": {"ars"}, "foreign": {"autre_ars"}},
    },
    "www:dossier_extend_deadline": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),  # no convention, no deadline: refused
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {
            "version": w[variant].version,
            "until": "2027-12-31",
            "reason": "Retard de l'éditeur.",
        },
        "changes": {"own": {"ars"}},
    },
    "www:dossier_piece_download": {
        "args": PIECES,
        "get": {
            "own": only(SEES_OWN),
            "foreign": only(SEES_FOREIGN),
            "draft": only(SEES_DRAFT),
            "mismatch": only(()),
        },
    },
    "www:dossier_piece_replace": {
        # A piece changes while the porteur may still change the dossier: its draft, not once filed.
        "args": PIECES,
        "get": on(*PIECES, outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, porteur=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_porteur=BACK),
            "draft": only(SEES_DRAFT, ok=BACK),
            "mismatch": only(()),
        },
        "body": piece_body,
        "changes": {"draft": {"porteur"}},
    },
    "www:dossier_piece_remove": {
        "args": PIECES,
        "get": on(*PIECES, outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=403, porteur=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_porteur=BACK),
            "draft": only(SEES_DRAFT, ok=BACK),
            "mismatch": only(()),
        },
        "body": empty,
        "changes": {"draft": {"porteur"}},
    },
    # Follow-up.
    "www:follow_up": {"args": NONE, "get": on("-", outcomes=only(FOLLOWERS, denied=403))},
    "www:follow_up_export": {
        "args": {"-": lambda w: {"fmt": "csv"}},
        "get": on("-", outcomes=only(FOLLOWERS, denied=403)),
    },
    "www:follow_up_chart": {
        "args": {"-": lambda w: {"name": "dui-actifs"}},
        "get": on("-", outcomes=only(FOLLOWERS, denied=403)),
    },
    # Committees: the Bretagne ARS's (own), the Île-de-France ARS's (foreign), CNSA's (national).
    "www:committee_list": {
        "args": NONE,
        "get": on("-", outcomes=only(COMMITTEE_ROLES, denied=403)),
        "post": on("-", outcomes=only(COMMITTEE_ROLES, denied=403)),
        "body": empty,
        "shows": {"-": {"committee": {"ars", "admin"}, "foreign_committee": {"autre_ars", "admin"}}},
    },
    "www:committee_detail": {
        "args": COMMITTEES,
        "get": {
            "own": only({"ars", "admin"}),
            "foreign": only({"autre_ars", "admin"}),
            "national": only({"national", "admin"}),
        },
    },
    "www:committee_add": {
        # The Bretagne dossier under instruction, put on each committee's agenda.
        "args": COMMITTEES,
        "get": on("own", "foreign", "national", outcomes=everyone(405)),
        "post": {
            "own": only({"ars", "admin"}, ok=BACK, admin=403),  # the administrator reads, does not instruct
            "foreign": only({"admin"}, ok=BACK),  # not eligible there: refused, back to the page
            "national": only({"national", "admin"}, ok=BACK),  # not eligible there: refused
        },
        "body": lambda w, variant: {"reference": w["pending"].reference},
        "changes": {"own": {"ars"}},
    },
    "www:committee_decide": {
        "args": {
            "own": lambda w: {"pk": w["committee"].pk, "item_id": w["item"].pk},
            # the Bretagne agenda's item, asked under the Île-de-France committee
            "mismatch": lambda w: {"pk": w["foreign_committee"].pk, "item_id": w["item"].pk},
        },
        "get": on("own", "mismatch", outcomes=everyone(405)),
        "post": {"own": only({"ars", "admin"}, ok=BACK, admin=403), "mismatch": only(())},
        "body": lambda w, variant: {"decision": "retenu", "reason": "Retenu par le comité."},
        "changes": {"own": {"ars"}},
    },
    # Selection under envelopes (DECISION D-SELECTION): CNSA sets the envelopes (the administrator reads them); a
    # dossier's grid is read by those who read its private annotations and filled by its instructors while it is
    # instructed (own: in deployment, foreign: only filed — refused, back to the page); a committee's proposal and
    # charts are its instructors' (no envelope in this world: the proposal is refused, back to the page).
    "www:selection_envelopes": {
        "args": NONE,
        "get": on("-", outcomes=only({"national", "admin"}, denied=403)),
        "post": on("-", outcomes=only({"national"}, ok=BACK, denied=403)),
        "body": lambda w, variant: {
            "campaign": "2024",
            "region": "53",
            "amount_eur": 5_000_000,
            "effective_on": "2024-01-15",
            "reference": "Délégation CNSA 2024, annexe 1",
            "reason": "Enveloppe régionale 2024.",
        },
        "changes": {"-": {"national"}},
    },
    "www:selection_grid": {
        "args": DOSSIERS | {"pending": ref("pending")},
        "get": {
            "own": only(SEES_OWN, porteur=403, observateur=403),
            "pending": only(SEES_OWN, porteur=403, observateur=403),
            "foreign": only(SEES_FOREIGN, autre_porteur=403),
            "draft": only(SEES_DRAFT, ok=403),
        },
        "post": {
            "own": only(SEES_OWN, ok=403, ars=BACK),
            "pending": only(SEES_OWN, ok=403, ars=BACK),
            "foreign": only(SEES_FOREIGN, ok=403, autre_ars=BACK),
            "draft": only(SEES_DRAFT, ok=403),
        },
        "body": lambda w, variant: {
            f"note_{row['code']}": "2" for row in default_tree().get("selection/grid.criteria").values[-1].value
        },
        "changes": {"pending": {"ars"}},
    },
    "www:selection_proposal": {
        "args": COMMITTEES,
        "get": {
            "own": only({"ars", "admin"}),
            "foreign": only({"autre_ars", "admin"}),
            "national": only({"national", "admin"}),
        },
        "post": {
            "own": only({"ars", "admin"}, ok=BACK, admin=403),
            "foreign": only({"autre_ars", "admin"}, ok=BACK, admin=403),
            "national": only({"national", "admin"}, ok=BACK, admin=403),
        },
        "body": lambda w, variant: (
            {"objective": "score", "acquisition_bonus": 20, "territory_tolerance": 15}
            | {
                f"{bound}_{code}": value
                for code in ("PA", "PH", "DOM", "PDS", "PDE", "AHI", "PJM")
                for bound, value in (("min", 0), ("max", 100))
            }
        ),
    },
    "www:selection_whatif": {"args": NONE, "get": on("-", outcomes=only({"national", "admin"}, denied=403))},
    # Territorial coverage: every region for CNSA and the administrator, its departments for an ARS.
    "www:selection_coverage": {
        "args": NONE,
        "get": on("-", outcomes=only({"national", "admin", "ars", "autre_ars"}, denied=403)),
    },
    "www:selection_chart": {
        "args": with_args(COMMITTEES, name="secteurs"),
        "get": {
            "own": only({"ars", "admin"}),
            "foreign": only({"autre_ars", "admin"}),
            "national": only({"national", "admin"}),
        },
    },
    # SONS.
    "www:order_list": {"args": NONE, "get": on("-", outcomes=only(LOGGED_IN)), "shows": {"-": ORDERS_LISTED}},
    "www:order_export": {
        "args": {"-": lambda w: {"fmt": "csv"}},
        "get": on("-", outcomes=only(LOGGED_IN)),
        "shows": {"-": ORDERS_LISTED},
    },
    "www:order_create": {
        "args": NONE,
        "get": on("-", outcomes=only(EDITEURS, denied=403)),
        "post": on("-", outcomes=only(EDITEURS, denied=403)),
        "body": empty,
    },
    "www:sons_side_by_side": {
        "args": NONE,
        "get": on("-", outcomes=only(FOLLOWERS, denied=403)),
        "shows": {
            "-": {
                "order": SEES_ORDER & FOLLOWERS,
                "foreign_order": SEES_FOREIGN_ORDER & FOLLOWERS,
                "own": SEES_OWN & FOLLOWERS,
                "foreign": SEES_FOREIGN & FOLLOWERS,
                "draft": set(),
            }
        },
    },
    "www:order_detail": {"args": ORDERS, "get": {"own": only(SEES_ORDER), "foreign": only(SEES_FOREIGN_ORDER)}},
    "www:order_transition": {
        # « demander l'avance »: the éditeur's step, while the MS1 couloir is open.
        "today": "2023-05-02",
        "args": ORDERS,
        "get": on("own", "foreign", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_ORDER, ok=403, editeur=BACK),
            "foreign": only(SEES_FOREIGN_ORDER, ok=403, autre_editeur=BACK),
        },
        "body": order_transition_body,
        "changes": {"own": {"editeur"}, "foreign": {"autre_editeur"}},
    },
    "www:order_va": {
        # The VA is the OG's; before the prestation is declared done it is refused, back to the page.
        "today": "2023-05-02",
        "args": ORDERS,
        "get": on("own", "foreign", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_ORDER, ok=403, porteur=BACK),
            "foreign": only(SEES_FOREIGN_ORDER, ok=403, autre_porteur=BACK),
        },
        "body": va_body,
    },
    "www:order_recovery_received": {
        # The advance of the cancelled Bretagne order, received back: CNSA records it for the ASP.
        "args": {
            "own": lambda w: {"reference": w["order_recovery"].order.reference, "pk": w["order_recovery"].pk},
            "mismatch": lambda w: {"reference": w["foreign_order"].reference, "pk": w["order_recovery"].pk},
        },
        "get": on("own", "mismatch", outcomes=everyone(405)),
        "post": {"own": only(SEES_ORDER, ok=403, national=BACK), "mismatch": only(())},
        "body": lambda w, variant: {"reference": "ENCAISSEMENT-ASP-1"},
        "changes": {"own": {"national"}},
    },
    "www:order_document": {
        "args": with_args(ORDERS, document="bon-de-commande"),
        "get": {"own": only(SEES_ORDER), "foreign": only(SEES_FOREIGN_ORDER)},
    },
    # Registry (open data, for signed-in users); the sector correction needs the Django permission.
    "www:registry_search": {"args": NONE, "get": on("-", outcomes=only(LOGGED_IN))},
    "www:registry_detail": {"args": {"-": lambda w: {"finess": w["finess"]}}, "get": on("-", outcomes=only(LOGGED_IN))},
    "www:registry_correct_sector": {
        "args": {"-": lambda w: {"finess": w["finess"]}},
        "get": on("-", outcomes=everyone(405)),
        "post": on("-", outcomes=only({"admin"}, ok=BACK, denied=403)),
        "body": lambda w, variant: {"sector": "PH", "reason": "Correction motivée."},
        "changes": {"-": {"admin"}},
    },
    # Background work (DECISION D-JOBS): the FINESS import is the administrator's (or the Django permission's); a
    # dossier's ZIP is asked by whoever sees it; a job (the porteur's ZIP) is its owner's and the administrator's
    # to see, its file its owner's only.
    "www:registry_import": {
        "args": NONE,
        "get": on("-", outcomes=only({"admin"}, denied=403)),
        "post": on("-", outcomes=only({"admin"}, denied=403)),  # no file: the form again, nothing imported
        "body": empty,
    },
    "www:dossier_bundle": {
        "args": DOSSIERS,
        "get": on("own", "foreign", "draft", outcomes=everyone(405)),
        "post": {
            "own": only(SEES_OWN, ok=BACK),
            "foreign": only(SEES_FOREIGN, ok=BACK),
            "draft": only(SEES_DRAFT, ok=BACK),
        },
        "body": empty,
        "changes": {"own": SEES_OWN, "foreign": SEES_FOREIGN, "draft": SEES_DRAFT},
    },
    "www:job_dossier_export": {
        "args": {"-": lambda w: {"fmt": "csv"}},
        "get": on("-", outcomes=everyone(405)),
        "post": on("-", outcomes=only(LOGGED_IN, ok=BACK)),
        "body": empty,
        "changes": {"-": LOGGED_IN},
    },
    "www:job_list": {"args": NONE, "get": on("-", outcomes=only(LOGGED_IN)), "shows": {"-": {"job": {"porteur"}}}},
    "www:job_detail": {
        "args": {"-": lambda w: {"pk": w["job"].pk}},
        "get": on("-", outcomes=only({"porteur", "admin"})),
    },
    "www:job_download": {"args": {"-": lambda w: {"pk": w["job"].pk}}, "get": on("-", outcomes=only({"porteur"}))},
    # Each user's API tokens and webhooks (issue 14): their own only; an unknown action goes back to the page.
    "www:api_tokens": {
        "args": NONE,
        "get": on("-", outcomes=only(LOGGED_IN)),
        "post": on("-", outcomes=only(LOGGED_IN, ok=BACK)),
        "body": empty,
    },
    # API: operations (GET on an operation that has none is 405, checked too).
    "/api/health": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "/api/simulation": {
        "args": NONE,
        "post": on("-", outcomes=everyone(200)),
        "body": lambda w, variant: SIMULATION,
    },
    "/api/sons/simulation": {
        "args": NONE,
        "post": on("-", outcomes=everyone(200)),
        "body": lambda w, variant: SONS_SIMULATION,
    },
    "/api/finess": {"args": NONE, "get": on("-", outcomes=api_only(LOGGED_IN))},
    "/api/finess/{finess}": {
        "args": {"-": lambda w: {"finess": w["finess"]}},
        "get": on("-", outcomes=api_only(LOGGED_IN)),
    },
    "/api/dossiers": {
        "args": NONE,
        "get": on("-", outcomes=api_only(LOGGED_IN)),
        "shows": {"-": LISTED},
        "post": on("-", outcomes=api_only(PORTEURS, ok=201, denied=403)),
        "body": lambda w, variant: {"title": "Par l'API", "campaign": "2024", "grappe": grappe(OG_BZH, BZH[12:13])},
        "changes": {"-": PORTEURS},
    },
    # The partner API (issue 14): a dossier's writes, as from its page.
    "/api/dossiers/{reference}/grappe": {
        "args": DOSSIERS,
        "post": {
            "own": api_only(SEES_OWN, ok=403, porteur=400),  # in deployment: the grappe no longer changes
            "foreign": api_only(SEES_FOREIGN, ok=403, autre_porteur=400),
            "draft": api_only(SEES_DRAFT),
        },
        "body": lambda w, variant: {"version": w[variant].version, "grappe": grappe(OG_BZH, BZH[7:9])},
        "changes": {"draft": {"porteur"}},
    },
    "/api/dossiers/{reference}/pieces": {
        # (multipart; the JSON body of this table has no file: the porteur is told so, 400)
        "args": DOSSIERS,
        "post": {
            "own": api_only(SEES_OWN, ok=403, porteur=400),
            "foreign": api_only(SEES_FOREIGN, ok=403, autre_porteur=400),
            "draft": api_only(SEES_DRAFT, ok=400),
        },
        "body": empty,
    },
    "/api/dossiers/{reference}/messages": {
        "args": DOSSIERS,
        "get": {"own": api_only(SEES_OWN), "foreign": api_only(SEES_FOREIGN), "draft": api_only(SEES_DRAFT)},
        "post": {
            "own": api_only(SEES_OWN, ok=403, porteur=201, ars=201),
            "foreign": api_only(SEES_FOREIGN, ok=403, autre_porteur=201, autre_ars=201),
            "draft": api_only(SEES_DRAFT, ok=201),
        },
        "body": lambda w, variant: {"body": "Un message au fil."},
        "changes": {"own": {"porteur", "ars"}, "foreign": {"autre_porteur", "autre_ars"}, "draft": {"porteur"}},
    },
    "/api/sons/solutions": {"args": NONE, "get": on("-", outcomes=api_only(LOGGED_IN))},
    "/api/sons/commandes": {
        "today": "2023-05-02",  # the MS1 couloir is open
        "args": NONE,
        "get": on("-", outcomes=api_only(LOGGED_IN)),
        "shows": {"-": ORDERS_LISTED},
        # the other éditeur names a solution that is not its own: 400
        "post": on("-", outcomes=api_only(EDITEURS, ok=201, denied=403, autre_editeur=400)),
        "body": lambda w, variant: {
            "couloir": "MS1",
            "og_finess_ej": OG_BZH,
            "solution": w["order"].solution_id,
            "signed_on": "2023-05-01",
            "essms": [{"finess_et": BZH[32], "current_version": "4.2"}],
        },
        "changes": {"-": {"editeur"}},
    },
    "/api/sons/commandes/{reference}": {
        "args": ORDERS,
        "get": {"own": api_only(SEES_ORDER), "foreign": api_only(SEES_FOREIGN_ORDER)},
    },
    "/api/sons/commandes/{reference}/transitions": {
        "today": "2023-05-02",
        "args": ORDERS,
        "post": {
            "own": api_only(SEES_ORDER, ok=403, editeur=200),
            "foreign": api_only(SEES_FOREIGN_ORDER, ok=403, autre_editeur=200),
        },
        "body": order_transition_body,
        "changes": {"own": {"editeur"}, "foreign": {"autre_editeur"}},
    },
    "/api/sons/commandes/{reference}/bon-signe": {
        # (multipart; no file in this table's JSON body: the éditeur is told so, 400)
        "args": ORDERS,
        "get": {"own": api_only(SEES_ORDER), "foreign": api_only(SEES_FOREIGN_ORDER)},
        "post": {
            "own": api_only(SEES_ORDER, ok=403, editeur=400),
            "foreign": api_only(SEES_FOREIGN_ORDER, ok=403, autre_editeur=400),
        },
        "body": empty,
    },
    "/api/webhooks": {
        "args": NONE,
        "get": on("-", outcomes=api_only(LOGGED_IN)),
        "post": on("-", outcomes=api_only(LOGGED_IN, ok=201, sans_role=403)),
        "body": lambda w, variant: {"url": "https://partenaire.example/hook", "secret": "un-secret-de-seize-car"},
        "changes": {"-": LOGGED_IN - {"sans_role"}},
    },
    "/api/webhooks/{pk}/desactiver": {
        "args": {"own": lambda w: {"pk": w["webhook"].pk}},
        "post": {"own": api_only({"editeur"})},
        "body": empty,
        "changes": {"own": {"editeur"}},
    },
    "/api/webhooks/{pk}/livraisons": {
        "args": {"own": lambda w: {"pk": w["webhook"].pk}},
        "get": {"own": api_only({"editeur"})},
    },
    "/api/dossiers/{reference}": {
        "args": DOSSIERS,
        "get": {"own": api_only(SEES_OWN), "foreign": api_only(SEES_FOREIGN), "draft": api_only(SEES_DRAFT)},
    },
    "/api/dossiers/{reference}/transitions": {
        "args": DOSSIERS,
        "post": {
            "own": api_only(SEES_OWN, ok=403, ars=200),
            "foreign": api_only(SEES_FOREIGN, ok=403, autre_ars=200),
            "draft": api_only(SEES_DRAFT, ok=400),
        },
        "body": transition_body,
        "changes": {"own": {"ars"}, "foreign": {"autre_ars"}},
    },
    "/api/dossiers/{reference}/measurements": {
        "args": DOSSIERS,
        "post": {
            "own": api_only(SEES_OWN, ok=403, porteur=200),
            "foreign": api_only(SEES_FOREIGN, ok=403, autre_porteur=400),
            "draft": api_only(SEES_DRAFT, ok=400),
        },
        "body": lambda w, variant: rates(w[variant], "2024-07-31"),
        "changes": {"own": {"porteur"}},
    },
    # API: its other URLs.
    "api:openapi-json": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "api:openapi-view": {"args": NONE, "get": on("-", outcomes=everyone(200))},
    "api:api-root": {"args": NONE, "get": on("-", outcomes=everyone(404))},
}

# What is wrong today, kept visible: (route, method, object, role) → (why, the database vendor it fails on, or None
# for all). Strict: once fixed, the case fails here and its entry goes.
KNOWN_ISSUES: dict[tuple[str, str, str, str], tuple[str, str | None]] = {}


# ---------------------------------------------------------------------------------------------------------------
# The routes that exist.

API_PREFIX = "/api"
METHODS = ("get", "post", "put", "patch", "delete")


def url_patterns(patterns=None, prefix: str = "", namespace: str = ""):
    """(namespace, name, route) of every URL pattern, included ones too."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield namespace, pattern.name, prefix + str(pattern.pattern)


def api_operations() -> dict[str, set[str]]:
    """OpenAPI path → its methods."""
    paths = api.get_openapi_schema(path_prefix=API_PREFIX)["paths"]
    return {path: {m for m in operations if m in METHODS} for path, operations in paths.items()}


def as_openapi(route: str) -> str:
    """api/dossiers/<reference> → /api/dossiers/{reference}"""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def existing_routes() -> dict[str, set[str] | None]:
    """The table's key of every route of the site → the methods the API documents (None for pages)."""
    operations = api_operations()
    found: dict[str, set[str] | None] = {}
    for namespace, name, route in url_patterns():
        if namespace == "admin":
            continue  # test_the_admin_is_for_administrators_only covers every admin URL
        if namespace == "api" and as_openapi(route) in operations:
            found[as_openapi(route)] = operations[as_openapi(route)]
        else:
            found[f"{namespace}:{name}" if name else route] = None
    missing_in_resolver = set(operations) - set(found)
    assert not missing_in_resolver, f"Opérations de l'API sans URL : {sorted(missing_in_resolver)}"
    return found


def test_every_route_has_an_entry_and_every_entry_a_route():
    found = existing_routes()
    new = sorted(set(found) - set(EXPECTED))
    assert not new, f"Route(s) sans entrée dans EXPECTED (qui y a accès ?) : {new}"
    gone = sorted(set(EXPECTED) - set(found))
    assert not gone, f"Entrée(s) de EXPECTED dont la route n'existe plus : {gone}"
    for key, methods in found.items():
        entry = EXPECTED[key]
        if methods is None:
            assert "get" in entry, f"{key} : chaque page est essayée en GET"
            continue
        listed = {m for m in METHODS if m in entry}
        assert listed == methods, f"{key} : l'API documente {sorted(methods)}, EXPECTED décrit {sorted(listed)}"
    for key, entry in EXPECTED.items():
        for method in ("get", "post"):
            for variant, outcomes in entry.get(method, {}).items():
                assert variant in entry["args"], f"{key} {method} : objet « {variant} » sans arguments"
                assert list(outcomes) == ROLES, f"{key} {method} {variant} : un rôle manque"
        if "post" in entry:
            assert "body" in entry, f"{key} : POST sans corps"


def tables(entry: dict, key: str):
    """(method, its table) of an entry; an API path without GET gets a GET table of 405."""
    if key.startswith("/") and "get" not in entry:
        yield "get", on(*entry["post"], outcomes=everyone(405))
    for method in ("get", "post"):
        if method in entry:
            yield method, entry[method]


def cases():
    """One case per route, method, object and role — but a GET that every role gets 405 for (a POST-only route) is
    one case per route, in test_post_only_routes_refuse_get."""
    for key, entry in EXPECTED.items():
        for method, table in tables(entry, key):
            for variant, outcomes in table.items():
                if method == "get" and outcomes == everyone(405):
                    continue
                for role in ROLES:
                    why, vendor = KNOWN_ISSUES.get((key, method, variant, role), (None, None))
                    failing = why is not None and vendor in (None, connection.vendor)
                    marks = [pytest.mark.xfail(strict=True, reason=why)] if failing else []
                    yield pytest.param(
                        key, method, variant, role, outcomes[role], marks=marks, id=f"{key}|{method}|{variant}|{role}"
                    )


CASES = list(cases())
POST_ONLY = [
    key
    for key, entry in EXPECTED.items()
    if any(
        method == "get" and outcomes == everyone(405)
        for method, table in tables(entry, key)
        for outcomes in table.values()
    )
]


# ---------------------------------------------------------------------------------------------------------------
# Requests.


@pytest.fixture(autouse=True)
def platform_date(settings):
    settings.ESMS_TODAY = TODAY


def url_of(key: str, variant: str, world) -> str:
    args = EXPECTED[key]["args"][variant](world)
    if key.startswith("/"):
        return key.format(**args)
    return reverse(key, kwargs=args)


def client_for(world, role: str) -> Client:
    """A fresh client (no cookie left by another test) on the role's session, opened once for the module."""
    client = Client()
    if role != ANON:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = world["sessions"][role]
    return client


def outcome(response):
    if response.status_code == 302:
        login = resolve_url("www:login")
        return LOGIN if response["Location"].startswith(login) else BACK
    return response.status_code


WATCHED = [
    model
    for model in apps.get_models()
    if model.__module__.startswith("esms_numerique.") or model._meta.app_label in ("auth", "admin")
]


def database() -> dict[str, list]:
    """Every row of the platform's tables, users and the admin's log (not the sessions: logging out writes there)."""
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in WATCHED}


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(label for label in before if before[label] != after[label])


def mark_of(thing) -> str:
    """What betrays an object in a page: its reference, its label, or the text itself."""
    if isinstance(thing, str):
        return thing
    return thing.reference if hasattr(thing, "reference") else thing.label


def body_text(response) -> str:
    # (a streamed file is closed by the test client once read)
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", errors="ignore")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "variant", "role", "expected"), CASES)
def test_route(world, settings, route, method, variant, role, expected):
    entry = EXPECTED[route]
    settings.ESMS_TODAY = entry.get("today", TODAY)
    url = url_of(route, variant, world)
    client = client_for(world, role)
    where = f"{role} — {method.upper()} {url} ({route}, objet « {variant} »)"
    if method == "get":
        response = client.get(url)
    else:
        body = entry["body"](world, variant)
        before = database()
        if route.startswith("/"):
            response = client.post(url, json.dumps(body), content_type="application/json")
        else:
            response = client.post(url, body)
        changed = changed_tables(before, database())
        if role in entry.get("changes", {}).get(variant, ()):
            assert changed, f"{where} : la requête de ce rôle devait aboutir et n'a rien changé"
        else:
            assert not changed, f"{where} : refusé ou sans effet attendu, mais la base a changé ({changed})"
    text = body_text(response)  # read (and closed) before anything else can fail
    got = outcome(response)
    assert got == expected, f"{where} : attendu {expected}, reçu {got}"
    if got != 200:
        return
    for name, readers in entry.get("shows", {}).get(variant, {}).items():
        shown = mark_of(world[name]) in text
        assert shown == (role in readers), f"{where} : « {name} » {'montré' if shown else 'caché'} à tort"


@pytest.mark.django_db
@pytest.mark.parametrize("route", POST_ONLY)
def test_post_only_routes_refuse_get(world, route):
    wrong = []
    for variant, outcomes in dict(tables(EXPECTED[route], route))["get"].items():
        url = url_of(route, variant, world)
        for role in ROLES:
            got = outcome(client_for(world, role).get(url))
            if got != outcomes[role]:
                wrong.append(
                    f"{role} — GET {url} ({route}, objet « {variant} ») : attendu {outcomes[role]}, reçu {got}"
                )
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------------------------------------------------------
# The admin: every URL of admin.site, generated per registered model, is the administrator's only.


def admin_url(route: str) -> str:
    """The admin URL of a route, its arguments taken from the data: the model's first object for object URLs."""
    if "(?P<app_label>" in route:
        return "/admin/dossiers/"
    if "(?P<url>" in route:
        return "/admin/nulle-part/"
    if "<path:content_type_id>" in route:
        dossier = Dossier.objects.order_by("pk").first()
        return f"/admin/r/{ContentType.objects.get_for_model(Dossier).pk}/{dossier.pk}/"
    parts = route.split("/")
    if len(parts) > 3 and re.search(r"<(?:path:)?(object_id|id)>", route):
        first = apps.get_model(parts[1], parts[2]).objects.order_by("pk").first()
        route = re.sub(r"<(?:path:)?(object_id|id)>", str(first.pk) if first else "0", route)
    return "/" + route


ADMIN_PUBLIC = {"login": 200}  # the administrator is sent on to the index


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
# django-dsfr's configuration form has a URLField without assume_scheme (Django 6.0 deprecation): not our access.
@pytest.mark.filterwarnings(
    "ignore:The default scheme will be changed:django.utils.deprecation.RemovedInDjango60Warning"
)
def test_the_admin_is_for_administrators_only(world, role):
    client = client_for(world, role)
    admin_login = reverse("admin:login")
    wrong = []
    routes = [(name, route) for namespace, name, route in url_patterns() if namespace == "admin"]
    assert len(routes) > 20
    for name, route in routes:
        url = admin_url(route)
        response = client.get(url)
        if name in ADMIN_PUBLIC:
            expected_ok = response.status_code == ADMIN_PUBLIC[name] or (role == "admin" and name == "login")
        elif role == "admin":
            expected_ok = response.status_code < 500
        else:
            # (a non-staff user's /admin/logout/ goes to the admin's index, which sends it to the admin's login)
            expected_ok = response.status_code == 302 and (
                response["Location"].startswith(admin_login) or response["Location"] == reverse("admin:index")
            )
        if not expected_ok:
            wrong.append(f"{role} — GET {url} (admin:{name or route}) : {response.status_code}")
    assert not wrong, "\n".join(wrong)
