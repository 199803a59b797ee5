"""`esms demo load`: a local platform to click through — the small synthetic registry, one account per role
and dossiers in every state. The accounts are for a local machine only; their passwords are in the README."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count

from esms_numerique import clock
from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.dossiers.committees import add_to_agenda, create_committee, decide
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier
from esms_numerique.dossiers.payments import apply_payment_transition
from esms_numerique.dossiers.services import add_piece, apply_transition, create_dossier
from esms_numerique.indicators.compute import window_start
from esms_numerique.indicators.services import funded_essms, rates_from_counts, record_measurements
from esms_numerique.instruction.enums import ExpertKind
from esms_numerique.instruction.models import Expert, InstructorGroup
from esms_numerique.registry.demo import generate
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.registry.services import import_extracts
from esms_numerique.rules.parameters import default_tree
from esms_numerique.sons.models import Editor, OrderItem, Solution
from esms_numerique.sons.services import ItemRequest, apply_order_transition, record_va, sign_order

PASSWORD_SUFFIX = "-esms-demo"
# The main path of a dossier (instructor steps unless marked porteur); every prefix of it, and the side
# branches, give one demo dossier per state.
MAIN_PATH = [
    "p:deposer",
    "declarer_recevable",
    "instruire",
    "inscrire_comite",
    "retenir",
    "engager",
    "signer_convention",
    "p:demander_avance",
    "$approuver",
    "$verser",
    "p:demarrer_deploiement",
    "enregistrer_cibles",
    "p:demander_solde",
    "$approuver",
    "$verser",
    "clore",
]
# One dossier per state: each prefix of the main path that ends in a new state, and the other endings.
PATHS = [MAIN_PATH[:n] for n in range(len(MAIN_PATH) + 1) if MAIN_PATH[n - 1 : n] != ["$approuver"]] + [
    ["p:deposer", "demander_complement"],
    ["p:deposer", "demander_complement", "p:completer"],
    ["p:deposer", "declarer_non_recevable"],
    ["p:deposer", "declarer_recevable", "instruire", "inscrire_comite", "ne_pas_retenir"],
    ["p:deposer", "p:desister"],
    ["p:deposer", "declarer_recevable", "classer_sans_suite"],
    [*MAIN_PATH[: MAIN_PATH.index("p:demarrer_deploiement") + 1], "abandonner"],
]
COMMENTED = ("demander_complement", "declarer_non_recevable", "desister", "classer_sans_suite", "abandonner")
# After the measures, on the demo's date: the targets, the balance and the closing.
MEASURED = ("enregistrer_cibles", "demander_solde", "clore")


def _demo_og() -> tuple[LegalEntity, list[str], str]:
    """The synthetic OG with the most ESSMS: the demo porteur."""
    entity = (
        LegalEntity.objects.annotate(n=Count("establishments"))
        .filter(establishments__sector__gt="")
        .order_by("-n", "finess_ej")
        .first()
    )
    essms = list(entity.establishments.exclude(sector="").order_by("finess_et").values_list("finess_et", "region"))
    region = max({r for _, r in essms}, key=lambda r: sum(1 for _, x in essms if x == r))
    return entity, [f for f, _ in essms], region


# The demo's dossiers are filed, decided and conventioned on the campaign's first days (a measurement may not precede
# the convention, D-USAGE-CHECKS), then measured up to the demo's date.
DEMO_FILED_ON = dt.date(2024, 1, 16)
DEMO_ORDERS_ON = dt.date(2024, 1, 8)
# A demo trajectory: three measures, rising; the last one meets every target (U-*) when `reached`.
DEMO_MEASURES = (
    ("2024-01-31", {"active_rate": 0.62, "pp_rate": 0.48, "agenda_rate": 0.55, "mss_rate": 0.31, "dmp_rate": 0.22}),
    ("2024-02-29", {"active_rate": 0.81, "pp_rate": 0.74, "agenda_rate": 0.79, "mss_rate": 0.58, "dmp_rate": 0.49}),
    ("2024-03-08", {"active_rate": 0.93, "pp_rate": 0.92, "agenda_rate": 0.93, "mss_rate": 0.81, "dmp_rate": 0.76}),
)


def _demo_counts(people: int, rates: dict[str, float]) -> dict[str, Any]:
    """The counts `esms indicateurs calculer` would give for these rates (rounded up), and the rates they give."""
    active = math.ceil(people * rates["active_rate"])
    counts = {
        "people_accompanied": people,
        "active_dossiers": active,
        "active_with_pp": math.ceil(active * rates["pp_rate"]),
        "active_with_event": math.ceil(active * rates["agenda_rate"]),
        "mss_messages": math.ceil(people * rates["mss_rate"]),
        "dmp_people_fed": math.ceil(people * rates["dmp_rate"]),
    }
    return counts | rates_from_counts(counts)


def _demo_measurements(porteur: User, dossier: Dossier, reached: bool = True) -> None:
    """Measures as `esms indicateurs calculer` gives them, per funded ESSMS, over the campaign's 3-month window."""
    measures = DEMO_MEASURES if reached else DEMO_MEASURES[:2]
    for on, rates in measures:
        date = dt.date.fromisoformat(on)
        record_measurements(
            porteur,
            dossier,
            {
                "measurement_date": on,
                "window_start": window_start(date, 3).isoformat(),
                "window_end": on,
                "essms": {f: _demo_counts(40 + n % 7, rates) for n, f in enumerate(funded_essms(dossier))},
            },
        )


def _demo_editor() -> Editor:
    editor, _ = Editor.objects.get_or_create(siret="73282932000074", defaults={"name": "Éditeur DUI synthétique"})
    Solution.objects.get_or_create(
        editor=editor,
        name="DUI synthétique",
        version="5.0",
        couloir="MS1",
        defaults={"referencing": Solution.Referencing.REFERENCED},
    )
    return editor


def _demo_orders(editor_user: User, og_user: User, payer: User, entity: LegalEntity, essms: list[str]) -> int:
    """Three SONS orders of the demo OG for ESSMS of MS1's sectors: paid, waiting for the VA, cancelled (distinct
    ESSMS: S-ONCE), run in the weeks before MS1's advance requests closed (10/01/2024, S-CALENDAR)."""
    solution = Solution.objects.get(editor__siret="73282932000074", couloir="MS1")
    ms1 = [row["code"] for row in default_tree().get("sectors.sectors").values[-1].value if row["couloir"] == "MS1"]
    sectors = dict(Establishment.objects.filter(finess_et__in=essms).values_list("finess_et", "sector"))
    essms = [f for f in essms if sectors.get(f) in ms1]
    paths = [
        [
            ("demander_avance", editor_user),
            ("verser_avance", payer),
            ("declarer_prestation", editor_user),
            ("va", og_user),
            ("signer_va", og_user),
            ("demander_solde", editor_user),
            ("verser_solde", payer),
        ],
        [("demander_avance", editor_user), ("verser_avance", payer), ("declarer_prestation", editor_user)],
        [("annuler", og_user)],
    ]
    for index, path in enumerate(paths):
        numbers = essms[index * 5 : index * 5 + 5]
        order = sign_order(
            editor_user, entity, solution, "", dt.date(2023, 10, 2), [ItemRequest(n, "4.2", "5.0") for n in numbers]
        )
        for name, actor in path:
            if name == "va":
                for number in numbers:
                    record_va(actor, order, number, dict.fromkeys(OrderItem.VA_FIELDS, True))
            else:
                comment = "Annulation de démonstration" if name == "annuler" else ""
                order = apply_order_transition(actor, order, name, order.version, comment)
    return len(paths)


def _user(
    username: str,
    role: Role | None,
    region: str = "",
    entity: LegalEntity | None = None,
    superuser: bool = False,
    corrects_sectors: bool = False,
    editor: Editor | None = None,
) -> tuple[User, bool]:
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_password(username + PASSWORD_SUFFIX)
        # An address on a reserved domain: `make run` prints the demo's e-mails on the console (D-NOTIFICATIONS).
        user.email = f"{username}@demo.esms-numerique.localhost"
        user.is_superuser = user.is_staff = superuser
        user.save()
        if role:
            Profile.objects.create(user=user, role=role, region=region, legal_entity=entity, editor=editor)
        if corrects_sectors:
            user.user_permissions.add(
                Permission.objects.get(codename="change_establishment", content_type__app_label="registry")
            )
    return user, created


DEMO_PDF = b"%PDF-1.4\n% Piece de demonstration (donnees synthetiques)\n%%EOF\n"


def _attach_demo_pieces(user: User, dossier: Dossier) -> None:
    """The pieces E-PIECES asks of this grappe (standard ones, and conditional ones such as SAAD hours)."""
    for code in dossier.result["required_pieces"]:
        add_piece(user, dossier, code, SimpleUploadedFile(f"{code}.pdf", DEMO_PDF, "application/pdf"))


def play(
    porteur: User,
    instructor: User,
    committee,
    title: str,
    grappe: dict[str, Any],
    steps: list[str],
    day: dt.date = DEMO_FILED_ON,
) -> Dossier:
    """One demo dossier through the services: created with its pieces, then each step of its path (PATHS); created,
    filed and decided on `day`, measured up to the demo's date."""
    with clock.pinned(day):
        dossier = create_dossier(porteur, title, "2024", grappe)
        if steps:
            _attach_demo_pieces(porteur, dossier)
            dossier.refresh_from_db()
    item = None
    for step in steps:
        actor = porteur if step.startswith("p:") else instructor
        name = step.removeprefix("p:")
        if name == "inscrire_comite":
            with clock.pinned(day):
                item = add_to_agenda(instructor, committee, dossier)
        elif name in ("retenir", "ne_pas_retenir"):
            decision = "retenu" if name == "retenir" else "non_retenu"
            with clock.pinned(day):
                decide(instructor, item, decision, "Décision de démonstration")
        elif name.startswith("$"):
            # A step of the dossier's latest payment request (approve, pay with a reference).
            request = dossier.payment_requests.latest("id")
            reference = {"payment_reference": f"DEMO-{dossier.reference}-{request.kind}"}
            with clock.pinned(day if request.kind == "avance" else clock.today()):
                apply_payment_transition(instructor, request, name[1:], request.version, reference)
        elif name in MEASURED:
            if name == "enregistrer_cibles":
                _demo_measurements(porteur, dossier)
            apply_transition(actor, dossier, name, dossier.version, "", {"expenses_statement": True})
        else:
            comment = "Commentaire de démonstration" if name in COMMENTED else ""
            with clock.pinned(day):
                apply_transition(actor, dossier, name, dossier.version, comment)
        dossier.refresh_from_db()
    if dossier.state == State.EN_DEPLOIEMENT:
        _demo_measurements(porteur, dossier, reached=False)
    return dossier


def load_demo(directory: Path) -> list[str]:
    files = generate(directory, "small")
    report = import_extracts(
        files.et.name, files.et.read_bytes(), files.ej.name, files.ej.read_bytes(), actor="esms demo load"
    )
    lines = [report.summary()]
    entity, essms, region = _demo_og()
    with transaction.atomic():
        accounts = [
            _user("admin", None, superuser=True, corrects_sectors=True),
            _user("instructeur", Role.ARS, region=region, corrects_sectors=True),
            _user("cnsa", Role.NATIONAL),
            _user("grades", Role.OBSERVER, region=region),
            _user("porteur", Role.PORTEUR, entity=entity),
            _user("editeur", Role.EDITEUR, editor=_demo_editor()),
        ]
        for user, created in accounts:
            if created:
                lines.append(f"Compte de démonstration créé : {user.username}")
        porteur, instructor, payer, editor_user = accounts[4][0], accounts[1][0], accounts[2][0], accounts[5][0]
        # The region's groupe instructeur (filed dossiers are routed to it) and an expert instructors may ask
        # (DECISION D-EXPERT): the « expert » account reads only the dossiers it is asked about.
        group, _ = InstructorGroup.objects.get_or_create(region=region, label="Instruction ESMS numérique")
        group.members.add(instructor)
        expert_user, created = _user("expert", None)
        Expert.objects.get_or_create(
            user=expert_user,
            defaults={"kind": ExpertKind.GRADES, "organisation": "GRADeS de démonstration", "region": region},
        )
        if created:
            lines.append(f"Compte de démonstration créé : {expert_user.username}")
        if not Dossier.objects.filter(porteur=entity).exists():
            committee = create_committee(instructor, "Comité d'avril 2024", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
            # Dossiers that reach a decision fund their ESSMS: each gets its own 15 (E-NO-DOUBLE); the others
            # share the first 20.
            decided = iter(range(20, len(essms), 10))
            for steps in PATHS:
                start = next(decided) if "retenir" in steps else 0
                size = 10 if start else 20
                grappe = {
                    "porteur": {"finess_ej": entity.finess_ej, "vat_regime": "TTC"},
                    "solution": {"segur_referenced": True},
                    "operation": "upgrade",
                    "essms": [{"finess_et": f} for f in essms[start : start + size]],
                }
                dossier = play(porteur, instructor, committee, "Démonstration", grappe, steps)
                Dossier.objects.filter(pk=dossier.pk).update(title=f"Démonstration — {dossier.state_label}")
            with clock.pinned(DEMO_ORDERS_ON):
                count = _demo_orders(editor_user, porteur, payer, entity, essms[len(essms) - 40 :])
            lines.append(f"{count} commandes SONS de démonstration (payée, en attente de VA, annulée).")
            lines.append(
                f"{len(PATHS)} dossiers de démonstration pour {entity.finess_ej} ({len(essms)} ESSMS), "
                f"instruits par l'ARS de la région {region}."
            )
    return lines
