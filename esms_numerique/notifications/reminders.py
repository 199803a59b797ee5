"""The daily reminders (`esms notifications rappels`): what is due on the platform's date, each told once per
deadline and per person — the outbox's event key is written once (docs/decisions.md, D-NOTIFICATIONS; thresholds:
rules/parameters/notifications.yaml)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from esms_numerique import clock
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier
from esms_numerique.dossiers.services import deadline
from esms_numerique.rules.parameters import default_tree
from esms_numerique.sons.models import Order, Solution
from esms_numerique.sons.services import couloir_calendar
from esms_numerique.sons.workflow import OrderState

from . import events
from .models import Notification
from .recipients import users_for
from .services import about, compose, deliver

# (subject, roles told, fields of the wording, what makes the deadline unique)
Due = tuple[Any, tuple[str, ...], dict[str, Any], str]
BEFORE_DEPLOYMENT_END = (State.CONVENTION_SIGNEE, State.AVANCE_DEMANDEE, State.AVANCE_VERSEE, State.EN_DEPLOIEMENT)
BEFORE_BALANCE_REQUEST = (
    OrderState.AVANCE_DEMANDEE,
    OrderState.AVANCE_VERSEE,
    OrderState.PRESTATION_REALISEE,
    OrderState.VA_SIGNEE,
)


def _days(name: str, on: dt.date) -> int:
    return default_tree().get(f"notifications.{name}").in_force(on).value


def complements(today: dt.date) -> Iterator[Due]:
    """A complement asked for `complement_reminder_days` ago or more and still not sent: the porteur, once per
    request."""
    after = _days("complement_reminder_days", today)
    for dossier in Dossier.objects.filter(state=State.COMPLEMENT_DEMANDE).select_related("porteur"):
        asked = dossier.transitions.filter(transition="demander_complement").order_by("-at", "-id").first()
        if asked is None:
            continue
        since = timezone.localdate(asked.at)
        if (today - since).days >= after:
            fields = {"since": f"{since:%d/%m/%Y}", "days": (today - since).days}
            yield dossier, ("porteur",), fields, f"{dossier.pk}:{asked.pk}"


def deployment_ends(today: dt.date) -> Iterator[Due]:
    """A deployment that ends within `deployment_end_notice_days` (F-PAY, extension included): the porteur and
    the instructors, once per end date."""
    notice = dt.timedelta(days=_days("deployment_end_notice_days", today))
    dossiers = Dossier.objects.filter(state__in=BEFORE_DEPLOYMENT_END, convention_signed_on__isnull=False)
    for dossier in dossiers.exclude(desk="national").select_related("porteur"):
        found = deadline(dossier)
        if found and today <= found["due"] <= today + notice:
            due = found["due"]
            yield dossier, ("porteur", "instructeurs"), {"due": f"{due:%d/%m/%Y}"}, f"{dossier.pk}:{due.isoformat()}"


def sons_proofs(today: dt.date) -> Iterator[Due]:
    """An order of a solution still candidate to referencing, `sons_proofs_notice_days` after its signature and
    before the 120 days of S-PENDING run out: the éditeur and the OG, once per order."""
    orders = Order.objects.filter(solution__referencing=Solution.Referencing.CANDIDATE).exclude(
        state__in=(OrderState.ANNULEE, OrderState.SOLDE_DEMANDE, OrderState.SOLDE_VERSE, OrderState.CONTROLE)
    )
    for order in orders.select_related("og", "solution__editor"):
        limit = default_tree().get("sons/flow.pending_referencing_days").in_force(order.ordered_on).value
        due = order.ordered_on + dt.timedelta(days=limit)
        if order.ordered_on + dt.timedelta(days=_days("sons_proofs_notice_days", order.ordered_on)) <= today <= due:
            yield order, ("editeur", "og"), {"due": f"{due:%d/%m/%Y}"}, f"{order.pk}:{due.isoformat()}"


def sons_calendar(today: dt.date) -> Iterator[Due]:
    """The couloir's last day for the advance request (a signed order), then for the balance request (S-CALENDAR),
    within `sons_calendar_notice_days`: the éditeur, once per deadline."""
    notice = dt.timedelta(days=_days("sons_calendar_notice_days", today))
    orders = Order.objects.filter(state__in=(OrderState.SIGNEE, *BEFORE_BALANCE_REQUEST))
    for order in orders.select_related("og", "solution__editor"):
        row = couloir_calendar(order)
        if row is None:
            continue
        advance = order.state == OrderState.SIGNEE
        due, what = (row["orders_close"], "d'avance") if advance else (row["balance_close"], "de solde")
        if due and today <= due <= today + notice:
            fields = {"due": f"{due:%d/%m/%Y}", "what": what}
            yield order, ("editeur",), fields, f"{order.pk}:{'avance' if advance else 'solde'}:{due.isoformat()}"


def measurements_due(today: dt.date) -> Iterator[Due]:
    """A dossier in deployment with no usage measurement for `measurement_reminder_days` (since its last one, or
    since its deployment started): the porteur, once per silence (U-*, F-PAY)."""
    from django.db.models import Max

    after = dt.timedelta(days=_days("measurement_reminder_days", today))
    dossiers = (
        Dossier.objects.filter(state=State.EN_DEPLOIEMENT)
        .annotate(last_measured=Max("measurements__measurement_date"))
        .select_related("porteur")
    )
    for dossier in dossiers:
        since = dossier.last_measured or dossier.deployment_started_on
        if since is not None and today - since >= after:
            fields = {"since": f"{since:%d/%m/%Y}"}
            yield dossier, ("porteur",), fields, f"{dossier.pk}:{since.isoformat()}"


FINDERS = {
    "complement": complements,
    "fin_deploiement": deployment_ends,
    "sons_preuves": sons_proofs,
    "sons_calendrier": sons_calendar,
    "mesure": measurements_due,
}


def run(today: dt.date | None = None) -> dict[str, int]:
    """Writes (and has sent) the reminders due on `today` (the platform's date): how many per kind of reminder."""
    today = today or clock.today()
    counts = {}
    for name, finder in FINDERS.items():
        event = events.REMINDERS[name]
        rows = []
        for subject, roles, extra, unique in finder(today):
            what = about(subject)
            fields = {**what.fields, **extra}
            recipients = {}
            for role in roles:
                for user in users_for(role, subject):
                    recipients.setdefault(user.pk, (user, role))
            keys = {pk: f"rappel:{name}:{unique}:u{pk}" for pk in recipients}
            sent = set(Notification.objects.filter(event_key__in=keys.values()).values_list("event_key", flat=True))
            rows += [
                compose(
                    user,
                    event.kind,
                    f"rappel:{name}",
                    what,
                    event.subject.format(**fields),
                    event.lead.format(**fields),
                    role=role,
                    event_key=keys[pk],
                )
                for pk, (user, role) in recipients.items()
                if keys[pk] not in sent
            ]
        counts[name] = len(deliver(rows))
    return counts
