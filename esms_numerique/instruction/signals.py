"""Told of every logged step of a lifecycle, inside its transaction (DECISION D-INSTRUCTION-ROUTING)."""

from __future__ import annotations

# Steps after which the frozen result (hence the regions covered) is new: filing and a complement sent.
RESULT_FROZEN = ("deposer", "completer")


def on_transition_logged(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if raw or not created or instance.transition not in RESULT_FROZEN:
        return
    from esms_numerique.dossiers.models import Dossier

    if instance.subject_type.model_class() is not Dossier:
        return
    from .services import route, sync_regions

    dossier = Dossier.objects.get(pk=instance.subject_id)
    sync_regions(dossier)
    if instance.transition == "deposer":
        route(dossier)
