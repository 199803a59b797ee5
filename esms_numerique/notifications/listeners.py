"""Told by the lifecycles once a step is committed (workflow.engine's listeners), and by an order's creation. A
listener never raises into the step that called it: a failure becomes a failed row of the outbox (admin)."""

from __future__ import annotations

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def on_transition(subject, transition, user) -> None:
    from .services import notify_step, record_failure

    try:
        notify_step(subject, transition, user)
    except Exception as error:
        logger.exception("Notifications de « %s » non écrites", transition.name)
        record_failure(subject, transition.name, error)


def on_order_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A new order (sons.services.sign_order): its client OGs are told once the signature's transaction commits,
    when its ESSMS are written."""
    if not created or raw:
        return

    def notify() -> None:
        from .services import notify_order_registered, record_failure

        try:
            notify_order_registered(type(instance).objects.get(pk=instance.pk))
        except Exception as error:
            logger.exception("Notification de la commande %s non écrite", instance.reference)
            record_failure(instance, "enregistrer", error)

    transaction.on_commit(notify)


def on_recovery_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """An order to pay back issued (an ESSMS withdrawn, an abandon, a cancelled SONS order) or received: the payer's
    side and the one who owes are told once the change is committed (D-NOTIFICATIONS)."""
    if raw or not (created or instance.state == type(instance).State.RECEIVED):
        return

    def notify() -> None:
        from .services import notify_recovery, record_failure

        try:
            notify_recovery(type(instance).objects.get(pk=instance.pk), issued=created)
        except Exception as error:
            logger.exception("Notification du reversement %s non écrite", instance.pk)
            record_failure(instance.dossier or instance.order, "reversement", error)

    transaction.on_commit(notify)
