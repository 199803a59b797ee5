"""The registry of tests/dossiers (20 ESSMS in Ille-et-Vilaine, one in Finistère), one user per role, the 2024
campaign; and dossiers under instruction built from it."""

from __future__ import annotations

import datetime as dt

import pytest

from esms_numerique.dossiers import committees
from esms_numerique.dossiers.services import apply_transition, create_dossier
from esms_numerique.selection import services
from tests.dossiers.conftest import (
    GRAPPE_FINESS,
    PORTEUR_EJ,
    attach_pieces,
    campaign_2024,
    registry,
    through_committee,
    users,
)

__all__ = ["campaign_2024", "registry", "users"]


def grappe_of(numbers: list[str], operation: str = "acquisition") -> dict:
    return {
        "porteur": {"finess_ej": PORTEUR_EJ, "vat_regime": "TTC"},
        "solution": {"segur_referenced": True},
        "operation": operation,
        "essms": [{"finess_et": n} for n in numbers],
    }


def instructed(users, title: str, numbers: list[str], operation: str = "acquisition"):
    """A Bretagne dossier filed on 11/03/2024 and under instruction (21 000 € per ESSMS acquired)."""
    dossier = create_dossier(users["porteur"], title, "2024", grappe_of(numbers, operation))
    dossier = attach_pieces(users["porteur"], dossier)
    dossier = apply_transition(users["porteur"], dossier, "deposer", dossier.version)
    for name in ("declarer_recevable", "instruire"):
        dossier = apply_transition(users["ars"], dossier, name, dossier.version)
    return dossier


@pytest.fixture
def envelope(users):
    return services.set_envelope(
        users["national"],
        "2024",
        "53",
        500_000,
        dt.date(2024, 1, 15),
        "Délégation CNSA 2024, annexe 1",
        "Campagne 2024.",
    )


def essms(first: int, count: int) -> list[str]:
    return GRAPPE_FINESS[first : first + count]


@pytest.fixture
def april(users, envelope):
    """Retained at a March committee: X (5 ESSMS, 105 000 €). Under instruction: Y, Z, and W which shares three
    ESSMS with Z. April's envelope: 500 000 €, 395 000 € available."""
    ars = users["ars"]
    world = {"X": through_committee(ars, instructed(users, "X", essms(0, 5)))}
    world["Y"] = instructed(users, "Y", essms(5, 5))
    world["Z"] = instructed(users, "Z", essms(10, 5))
    world["W"] = instructed(users, "W", essms(12, 5))
    for name, notes in (("Y", 3), ("Z", 2), ("W", 1)):
        services.save_grid(
            ars, world[name], dict.fromkeys(services.rules.grid_on(dt.date(2024, 3, 11)).codes(), notes), {}
        )
    world["committee"] = committees.create_committee(ars, "Comité d'avril", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    return world
