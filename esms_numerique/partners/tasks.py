"""Background work of the partners' webhooks (django-tasks, as notifications/tasks.py; DECISION D-WEBHOOKS)."""

from __future__ import annotations

from django_tasks import task


@task()
def deliver_webhook(delivery_id: int) -> str:
    from .webhooks import deliver

    return deliver(delivery_id)


@task()
def retry_webhooks() -> int:
    from .webhooks import retry_due

    return retry_due()
