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
    actor = instance.actor.get_username()
    sync_regions(dossier, actor)
    if instance.transition == "deposer":
        route(dossier, actor)


def on_grappe_changed(sender, dossier, actor: str, **kwargs) -> None:
    """A retained grappe lost, swapped or gained an ESSMS (dossiers.changes): its regions follow, in the change's
    transaction — an ARS whose region no longer has an ESSMS stops reading the dossier, a new region's ARS reads it."""
    from .services import sync_regions

    sync_regions(dossier, actor)
