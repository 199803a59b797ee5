from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "esms_numerique.partners"
    verbose_name = "Partenaires de l'API (jetons, webhooks)"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from esms_numerique.audit.models import AuditEntry
        from esms_numerique.dossiers.models import Message
        from esms_numerique.dossiers.payments import PAYMENT
        from esms_numerique.dossiers.workflow import WORKFLOW as DOSSIERS
        from esms_numerique.sons.models import Order
        from esms_numerique.sons.workflow import WORKFLOW as ORDERS

        from .changes import on_audit_entry
        from .webhooks import on_message_saved, on_order_saved, on_transition

        # Every audited change of a dossier or an order stamps it: `modifie_depuis` reads the stamps (D-API-SYNC).
        post_save.connect(on_audit_entry, sender=AuditEntry, dispatch_uid="partners.change_stamp")
        # Webhooks: the lifecycles' on-commit listeners, an order's creation, a message (D-WEBHOOKS).
        for workflow in (DOSSIERS, PAYMENT, ORDERS):
            if on_transition not in workflow.listeners:
                workflow.listeners.append(on_transition)
        post_save.connect(on_order_saved, sender=Order, dispatch_uid="partners.order_registered")
        post_save.connect(on_message_saved, sender=Message, dispatch_uid="partners.message")
