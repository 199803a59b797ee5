"""A registry of 20 ESSMS in Ille-et-Vilaine and one user per role, during the 2024 campaign."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.registry.models import LegalEntity
from esms_numerique.registry.services import import_extracts
from esms_numerique.rules.parameters import default_tree
from tests.registry.test_import import et_line, extract
from tests.rules.grappes import finess_for

PORTEUR_EJ = "350000014"
OTHER_EJ = "290000009"
GRAPPE_FINESS = [finess_for("35", n) for n in range(20)]


@pytest.fixture(autouse=True)
def campaign_2024(settings):
    settings.ESMS_TODAY = "2024-03-11"


@pytest.fixture
def registry(db):
    lines = [et_line(f, finess_ej=PORTEUR_EJ, category="500" if n % 2 else "183") for n, f in enumerate(GRAPPE_FINESS)]
    lines.append(et_line("290000017", finess_ej=OTHER_EJ, department="29"))
    import_extracts("et.csv", extract(*lines))


def make_user(username: str, role: Role | None, region: str = "", ej: str | None = None) -> User:
    user = User.objects.create_user(username, password="x")
    if role:
        entity = LegalEntity.objects.get(finess_ej=ej) if ej else None
        Profile.objects.create(user=user, role=role, region=region, legal_entity=entity)
    return user


@pytest.fixture
def users(registry):
    admin = User.objects.create_superuser("admin", password="x")
    return {
        "porteur": make_user("porteur", Role.PORTEUR, ej=PORTEUR_EJ),
        "autre_porteur": make_user("autre_porteur", Role.PORTEUR, ej=OTHER_EJ),
        "ars": make_user("ars_bretagne", Role.ARS, region="53"),
        "autre_ars": make_user("ars_idf", Role.ARS, region="11"),
        "national": make_user("cnsa", Role.NATIONAL),
        "observateur": make_user("grades_bretagne", Role.OBSERVER, region="53"),
        "autre_observateur": make_user("grades_idf", Role.OBSERVER, region="11"),
        "sans_role": make_user("sans_role", None),
        "admin": admin,
    }


def grappe(count: int = 20, operation: str = "acquisition") -> dict:
    return {
        "porteur": {"finess_ej": PORTEUR_EJ, "vat_regime": "TTC"},
        "solution": {"segur_referenced": True},
        "operation": operation,
        "essms": [{"finess_et": f} for f in GRAPPE_FINESS[:count]],
    }


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STANDARD_PIECES = [
    row["code"] for row in default_tree().get("esms_numerique/2024/eligibility/pieces.standard").values[-1].value
]


def attach_pieces(user, dossier, codes=STANDARD_PIECES):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from esms_numerique.dossiers.services import add_piece

    for code in codes:
        add_piece(user, dossier, code, SimpleUploadedFile(f"{code}.pdf", PDF, content_type="application/pdf"))
    dossier.refresh_from_db()
    return dossier


def through_committee(instructor, dossier, decision: str = "retenu", reason: str = "Retenu au comité d'avril."):
    """Takes a dossier under instruction through an April 2024 committee of its instructor's scope."""
    import datetime as dt

    from esms_numerique.dossiers.committees import add_to_agenda, create_committee, decide

    committee = create_committee(instructor, "Comité d'avril", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    decide(instructor, add_to_agenda(instructor, committee, dossier), decision, reason)
    dossier.refresh_from_db()
    return dossier


def measurements(dossier, date: str = "2024-06-30", rate: float = 0.95, finess=None) -> dict:
    """A result of `esms indicateurs calculer` for the dossier's funded ESSMS: 40 people, each count `rate` of its
    denominator, and the rates those counts give (the platform recomputes them, D-USAGE-CHECKS)."""
    from esms_numerique.indicators.services import funded_essms, rates_from_counts

    numbers = finess or funded_essms(dossier)
    active = round(40 * rate)
    counts = {
        "people_accompanied": 40,
        "active_dossiers": active,
        "active_with_pp": round(active * rate),
        "active_with_event": round(active * rate),
        "mss_messages": round(40 * rate),
        "dmp_people_fed": round(40 * rate),
    }
    measure = counts | rates_from_counts(counts)
    return {
        "measurement_date": date,
        "window_start": "2024-04-01",
        "window_end": date,
        "essms": {n: dict(measure) for n in numbers},
    }


def measure(porteur, dossier, **kwargs):
    from esms_numerique.indicators.services import record_measurements

    record_measurements(porteur, dossier, measurements(dossier, **kwargs))
    dossier.refresh_from_db()
    return dossier


def paid_through_request(porteur, instructor, dossier, kind: str = "avance", reference: str = "CHORUS-1", **data):
    """The porteur asks for the advance (or the balance, with `data`), the instructor approves and pays it."""
    from esms_numerique.dossiers.payments import apply_payment_transition
    from esms_numerique.dossiers.services import apply_transition

    dossier = apply_transition(porteur, dossier, f"demander_{kind}", dossier.version, "", data)
    request = dossier.payment_requests.filter(kind=kind).latest("id")
    request = apply_payment_transition(instructor, request, "approuver", request.version, {})
    apply_payment_transition(instructor, request, "verser", request.version, {"payment_reference": reference})
    dossier.refresh_from_db()
    return dossier
