"""Background work (django-tasks): at once in the process that asks for it by default, by `manage.py db_worker`
from PostgreSQL in production (docs/decisions.md, D-NOTIFICATIONS). A task changes nothing the outbox does not
record: a task lost with a killed worker is made up by `esms notifications envoyer`."""

from __future__ import annotations

from django_tasks import task


@task()
def send_notification(notification_id: int) -> str:
    from .services import send_one

    return send_one(notification_id)


@task()
def send_pending() -> dict[str, int]:
    from . import services

    return services.send_pending()


@task()
def run_reminders() -> dict[str, int]:
    from .reminders import run

    return run()


@task()
def send_digests() -> int:
    from . import services

    return services.send_digests()
