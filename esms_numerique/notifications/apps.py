from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "esms_numerique.notifications"
    verbose_name = "Notifications par courriel"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from esms_numerique.dossiers.payments import PAYMENT
        from esms_numerique.dossiers.workflow import WORKFLOW as DOSSIERS
        from esms_numerique.ledger.models import Recovery
        from esms_numerique.sons.models import Order
        from esms_numerique.sons.workflow import WORKFLOW as ORDERS

        from .listeners import on_order_saved, on_recovery_saved, on_transition

        for workflow in (DOSSIERS, PAYMENT, ORDERS):
            if on_transition not in workflow.listeners:
                workflow.listeners.append(on_transition)
        # An order's signature is not a transition (sons.services.sign_order creates it): told by its creation.
        post_save.connect(on_order_saved, sender=Order, dispatch_uid="notifications.order_registered")
        # Orders to pay back are written by services (grappe changes, abandon, cancellation), not always by a step.
        post_save.connect(on_recovery_saved, sender=Recovery, dispatch_uid="notifications.recovery")
