"""The ESMS numérique fundings the platform has decided, read by E-NO-DOUBLE in dossiers and in SONS orders."""

from __future__ import annotations

from typing import Any

from .models import Dossier
from .workflow import DECIDED


def platform_fundings(finess_ets: set[str], exclude: Dossier | None = None) -> list[dict[str, Any]]:
    """One entry per funded ESSMS among `finess_ets` in a decided dossier (one funding per ESSMS over 2021-2025,
    whatever a porteur declares), in the shape of the simulator's `previous_fundings`."""
    funded = Dossier.objects.filter(state__in=DECIDED).exclude(filed_result=None)
    if exclude is not None:
        funded = funded.exclude(pk=exclude.pk)
    fundings = []
    for dossier in funded.only("reference", "filed_at", "filed_result"):
        for essms in dossier.filed_result.get("essms", []):
            if essms["finess_et"] in finess_ets and essms.get("fundable", True):
                fundings.append(
                    {
                        "finess_et": essms["finess_et"],
                        "scheme": "esms_numerique",
                        "operation": essms["operation"],
                        "year": dossier.filed_at.year,
                        "dossier": dossier.reference,
                    }
                )
    return fundings
