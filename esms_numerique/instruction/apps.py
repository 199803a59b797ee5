from django.apps import AppConfig


class InstructionConfig(AppConfig):
    name = "esms_numerique.instruction"
    verbose_name = "Instruction (groupes, attribution, avis)"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from esms_numerique.workflow.models import TransitionLog

        from .signals import on_transition_logged

        # Synchronous, inside the step's transaction (the workflow's listeners run after commit): the regions a
        # filed dossier covers and its routing are written with the filing (DECISION D-INSTRUCTION-ROUTING).
        post_save.connect(on_transition_logged, sender=TransitionLog, dispatch_uid="instruction.transition_logged")
        # Likewise when a retained grappe changes after the decision (dossiers.changes).
        from esms_numerique.dossiers.changes import grappe_changed

        from .signals import on_grappe_changed

        grappe_changed.connect(on_grappe_changed, dispatch_uid="instruction.grappe_changed")
