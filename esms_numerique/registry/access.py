"""Who corrects what in the registry (docs/decisions.md, D-AUDIT-KEY), read from the one door (D-ACCESS). The Django
permission `registry.change_establishment` is asked first, by the page; this says where it applies."""

from __future__ import annotations

from esms_numerique.accounts.access import Access

from .models import Establishment


def sector_correction_refusal(access: Access, establishment: Establishment) -> str | None:
    """None when the user may correct this establishment's sector, else why not, in French: an ARS instructor
    corrects the establishments of its region; national teams and administrators, every one."""
    if access.is_admin or access.is_national:
        return None
    region = access.instructed_region
    if not region:
        return "La correction des secteurs est réservée aux instructeurs d'ARS, pour les établissements de leur région."
    if establishment.region != region:
        return (
            f"L'établissement {establishment.finess_et} relève de la région {establishment.region_name} : une ARS "
            "ne corrige que les secteurs des établissements de sa région."
        )
    return None
