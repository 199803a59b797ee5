"""The only place that writes the outbox and sends it (docs/decisions.md, D-NOTIFICATIONS). A step of a lifecycle
writes one row per person told, with its subject and bodies; a task sends each row. Sending locks the row (rows
another sender holds are skipped), sends, and marks it sent in the same transaction: a row is sent once whatever
runs it — the task, `esms notifications envoyer` after a killed worker, or both at the same time."""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from esms_numerique import clock
from esms_numerique.accounts.access import access_of
from esms_numerique.accounts.enums import Role
from esms_numerique.dossiers.models import Dossier
from esms_numerique.rules.money import format_eur
from esms_numerique.sons.models import Order

from . import events
from .enums import Kind, Mode, Status
from .models import Follow, Notification, NotificationPreference
from .recipients import users_for

logger = logging.getLogger(__name__)
PREFIX = "[ESMS numérique]"
ROLE_LABELS = {
    "porteur": "porteur du dossier",
    "instructeurs": "instructeur du dossier",
    "editeur": "éditeur de la solution commandée",
    "og": "organisme gestionnaire client de la commande",
    "payeur": "équipe nationale chargée des paiements",
}


@dataclass
class About:
    """What a message is about: its reference, its page and the fields its wording reads."""

    reference: str
    link: str
    noun: str
    fields: dict[str, Any] = field(default_factory=dict)


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def about(subject) -> About:
    if isinstance(subject, Order):
        return About(
            subject.reference,
            _absolute(reverse("www:order_detail", args=[subject.reference])),
            "la commande",
            {
                "reference": subject.reference,
                "og": subject.og.name or subject.og.finess_ej,
                "editor": subject.solution.editor.name,
                "solution": str(subject.solution),
                "couloir": subject.solution.couloir,
                "ordered_on": f"{subject.ordered_on:%d/%m/%Y}",
                "state": subject.get_state_display(),
            },
        )
    dossier = subject if isinstance(subject, Dossier) else subject.dossier
    return About(
        dossier.reference,
        _absolute(reverse("www:dossier_detail", args=[dossier.reference])),
        "le dossier",
        {
            "reference": dossier.reference,
            "title": dossier.title,
            "porteur": dossier.porteur.name or dossier.porteur.finess_ej,
            "state": getattr(subject, "get_state_display", lambda: "")(),
        },
    )


def _render(template: str, context: dict[str, Any]) -> str:
    return render_to_string(f"notifications/email/{template}", context)


def _text(template: str, context: dict[str, Any]) -> str:
    """A text body without the blank lines a template's tags leave."""
    return re.sub(r"\n{3,}", "\n\n", _render(template, context)).strip() + "\n"


def compose(
    user,
    kind: Kind,
    event: str,
    what: About,
    subject: str,
    lead: str,
    details: list[tuple[str, str]] = (),
    comment: str = "",
    role: str = "",
    event_key: str | None = None,
) -> Notification:
    """One e-mail to `user`, written now (unsaved): subject « [ESMS numérique] REF : … », text and HTML bodies."""
    context = {
        "name": user.get_full_name() or user.get_username(),
        "lead": lead,
        "details": list(details),
        "comment": comment,
        "link": what.link,
        "noun": what.noun,
        "role": ROLE_LABELS.get(role, ""),
        "site_url": settings.SITE_URL,
        "subject": subject,
        "reference": what.reference,
    }
    return Notification(
        user=user,
        email=user.email,
        kind=kind,
        event=event,
        reference=what.reference,
        subject=f"{PREFIX} {what.reference} : {subject}"[:255],
        body_text=_text("message.txt", context),
        body_html=_render("message.html", context),
        link=what.link,
        event_key=event_key,
    )


def _last_comment(subject, transition_name: str) -> str:
    from esms_numerique.workflow.engine import transitions_log

    log = transitions_log(subject).filter(transition=transition_name).order_by("-at", "-id").first()
    return log.comment if log else ""


def notify_step(subject, transition, actor) -> list[Notification]:
    """The messages of one step: to each person its `notifies` names (not the one who took it), and the receipt
    the catalogue gives some steps (the porteur's « accusé de réception » on filing)."""
    event = events.for_step(_workflow_name(subject), transition)
    if not transition.notifies and not event.receipt:
        return []
    what = about(subject)
    name = f"{_workflow_name(subject)}:{transition.name}"
    wording = (
        event.subject.format(**what.fields),
        event.lead.format(**what.fields),
        _last_comment(subject, transition.name),
    )
    told: dict[int, tuple] = {}
    for role in transition.notifies:
        for user in users_for(role, subject):
            if actor is None or user.pk != actor.pk:
                told.setdefault(user.pk, (user, role, name, *wording))
    if event.receipt:
        receipt = (event.receipt[0].format(**what.fields), event.receipt[1].format(**what.fields), "")
        for user in users_for(event.receipt_to, subject):
            told.setdefault(user.pk, (user, event.receipt_to, f"{name}:accuse", *receipt))
    details = event.details(subject) if event.details else []
    return deliver(
        [
            compose(user, event.kind, event_name, what, line, lead, details, comment, role)
            for user, role, event_name, line, lead, comment in told.values()
        ]
    )


def notify_order_registered(order: Order) -> list[Notification]:
    """The order an éditeur registered (sons.services.sign_order), told to its client OGs."""
    event = events.ORDER["enregistrer"]
    what = about(order)
    rows = [
        compose(
            user,
            event.kind,
            "commande SONS:enregistrer",
            what,
            event.subject.format(**what.fields),
            event.lead.format(**what.fields),
            event.details(order),
            role="og",
        )
        for user in users_for("og", order)
    ]
    return deliver(rows)


def notify_recovery(recovery, issued: bool) -> list[Notification]:
    """An order to pay back, issued or received: for a dossier, its porteur and instructors; for a SONS order, its
    éditeur (who owes the advance) and the payer."""
    subject = recovery.dossier or recovery.order
    what = about(subject)
    roles = ("porteur", "instructeurs") if recovery.dossier_id else ("editeur", "payeur")
    amount = format_eur(recovery.amount_eur)
    if issued:
        line, lead = "ordre de reversement", f"Un ordre de reversement de {amount} est émis : {recovery.reason}"
    else:
        line = "reversement reçu"
        lead = (
            f"Le reversement de {amount} est reçu le {recovery.received_on:%d/%m/%Y} ({recovery.received_reference})."
        )
    event = f"reversement:{recovery.pk}:{'emis' if issued else 'recu'}"
    told = {user.pk: (user, role) for role in roles for user in users_for(role, subject)}
    return deliver(
        [
            compose(user, Kind.REVERSEMENT, event, what, line, lead, [("Montant", amount)], role=role)
            for user, role in told.values()
        ]
    )


def _workflow_name(subject) -> str:
    if isinstance(subject, Order):
        return "commande SONS"
    return "dossier" if isinstance(subject, Dossier) else "demande de paiement"


def _modes(rows: list[Notification]) -> dict[tuple[int, str], str]:
    users = {r.user_id for r in rows}
    return {
        (p.user_id, p.kind): p.mode
        for p in NotificationPreference.objects.filter(user_id__in=users, kind__in={r.kind for r in rows})
    }


def deliver(rows: list[Notification]) -> list[Notification]:
    """Writes the rows (a row whose event key was already written is dropped: a reminder is sent once) and, once
    they are committed, asks a task to send each immediate one; digest rows wait for the daily digest."""
    if not rows:
        return []
    modes = _modes(rows)
    written = []
    with transaction.atomic():
        for row in rows:
            row.digest = modes.get((row.user_id, row.kind)) == Mode.DIGEST
            if row.event_key is None:
                row.save()
                written.append(row)
                continue
            try:
                with transaction.atomic():
                    row.save()
                written.append(row)
            except IntegrityError:
                continue
        for row in written:
            if not row.digest:
                transaction.on_commit(lambda pk=row.pk: enqueue_send(pk))
    return written


def enqueue_send(pk: int, after: dt.datetime | None = None) -> None:
    """Asks the task backend to send one row. Never raises: a row that could not be queued stays pending, and
    `esms notifications envoyer` sends it."""
    from .tasks import send_notification

    try:
        task = send_notification
        if after is not None:
            if not task.get_backend().supports_defer:
                return
            task = task.using(run_after=after)
        task.enqueue(pk)
    except Exception:
        logger.exception("Envoi du courriel %s non mis en file : il reste à envoyer", pk)


def _message(row: Notification) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        row.subject,
        row.body_text,
        settings.DEFAULT_FROM_EMAIL,
        [row.email],
        headers={"Auto-Submitted": "auto-generated", "X-ESMS-Reference": row.reference},
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    if row.event == FILING_RECEIPT:
        # The porteur's receipt carries the frozen result as PDF, written when it is sent (the dossier's own data).
        from esms_numerique.dossiers.decision_documents import filing_receipt

        dossier = Dossier.objects.get(reference=row.reference)
        message.attach(f"{row.reference}-accuse-de-reception.pdf", filing_receipt(dossier), "application/pdf")
    return message


FILING_RECEIPT = "dossier:deposer:accuse"


def describe(error: BaseException) -> str:
    """The server's answer as it said it (« 451 4.3.0 … »), or the exception."""
    if isinstance(error, smtplib.SMTPResponseException):
        answer = error.smtp_error
        text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
        return f"{type(error).__name__} : {error.smtp_code} {text}"[:2000]
    return f"{type(error).__name__} : {error}"[:2000]


def retry_delay(attempts: int) -> dt.timedelta:
    """5 minutes after the first failure, then three times longer each time, at most 6 hours."""
    return min(dt.timedelta(minutes=5 * 3 ** (attempts - 1)), dt.timedelta(hours=6))


def send_one(pk: int) -> str:
    """Sends one pending row, once: locked (skipped if another sender holds it), sent, marked sent, in one
    transaction. A refusal of the server counts an attempt and records the error; past the maximum the row is
    failed (visible in the admin), before it the row stays pending for a later attempt."""
    retry_at = None
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status=Status.PENDING, digest=False)
            .first()
        )
        if row is None:
            return "ignoré"
        row.attempts += 1
        try:
            _message(row).send()
        except Exception as error:
            row.last_error = describe(error)
            if row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
                row.status = Status.FAILED
            else:
                retry_at = row.next_attempt_at = timezone.now() + retry_delay(row.attempts)
            row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("Courriel %s non envoyé (tentative %s) : %s", pk, row.attempts, row.last_error)
        else:
            row.status, row.sent_at, row.next_attempt_at = Status.SENT, timezone.now(), None
            row.save(update_fields=["attempts", "status", "sent_at", "next_attempt_at"])
            return "envoyé"
    if retry_at is not None:
        enqueue_send(pk, after=retry_at)
        return "à réessayer"
    return "échec"


def due_rows():
    """Immediate rows still to send whose next attempt is due (what a killed worker or a refusal left)."""
    return Notification.objects.filter(status=Status.PENDING, digest=False).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())
    )


def send_pending() -> dict[str, int]:
    """Sends every due row (`esms notifications envoyer`): each through `send_one`, so that several senders at once
    never send a row twice."""
    counts: dict[str, int] = {}
    for pk in due_rows().order_by("created_at", "id").values_list("pk", flat=True):
        outcome = send_one(pk)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def send_digests() -> int:
    """Gathers each user's digest rows into one e-mail, sent like any other row; the rows it gathers are marked
    « regroupé ». Two runs at once never gather a row twice (rows locked, others' skipped)."""
    sent = 0
    users = (
        Notification.objects.filter(status=Status.PENDING, digest=True, user__isnull=False)
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()
    )
    for user_id in list(users):
        with transaction.atomic():
            rows = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(user_id=user_id, status=Status.PENDING, digest=True)
                .select_related("user")
                .order_by("created_at", "id")
            )
            if not rows:
                continue
            digest = _digest(rows)
            Notification.objects.filter(pk__in=[r.pk for r in rows]).update(status=Status.GROUPED, grouped_in=digest)
            transaction.on_commit(lambda pk=digest.pk: enqueue_send(pk))
            sent += 1
    return sent


def _digest(rows: list[Notification]) -> Notification:
    user = rows[0].user
    today = clock.today()
    context = {
        "name": user.get_full_name() or user.get_username(),
        "items": rows,
        "day": f"{today:%d/%m/%Y}",
        "site_url": settings.SITE_URL,
    }
    count = f"{len(rows)} notification{'s' if len(rows) > 1 else ''}"
    return Notification.objects.create(
        user=user,
        email=user.email,
        kind=Kind.RECAPITULATIF,
        event="recapitulatif",
        subject=f"{PREFIX} Récapitulatif du {today:%d/%m/%Y} : {count}",
        body_text=_text("digest.txt", context),
        body_html=_render("digest.html", context),
        link=f"{settings.SITE_URL}/",
    )


def record_failure(subject, what: str, error: BaseException) -> None:
    """A step whose messages could not be written: a failed row says so in the admin. Never raises."""
    try:
        reference = getattr(subject, "reference", "") or getattr(getattr(subject, "dossier", None), "reference", "")
        Notification.objects.create(
            kind=Kind.AUTRE,
            event=f"erreur:{what}"[:64],
            reference=reference,
            subject=f"Notification impossible : {what}"[:255],
            status=Status.FAILED,
            last_error=describe(error),
        )
    except Exception:
        logger.exception("Échec de notification non enregistré (%s)", what)


def set_preference(user, kind: Kind | str, mode: Mode | str) -> NotificationPreference:
    """`user` receives the messages of `kind` at once (`Mode.IMMEDIATE`) or in the daily digest (`Mode.DIGEST`)."""
    kind, mode = Kind(kind), Mode(mode)
    preference, _ = NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"mode": mode})
    return preference


FOLLOWERS = (Role.ARS, Role.NATIONAL, Role.OBSERVER)


def _may_follow(user, dossier: Dossier) -> None:
    from esms_numerique.dossiers.access import can_see

    if access_of(user).role not in FOLLOWERS or not can_see(user, dossier):
        raise PermissionDenied("Seuls les instructeurs et observateurs qui voient ce dossier le suivent.")


def follow(user, dossier: Dossier) -> Follow:
    """`user` is told of the dossier's steps that concern the instructors, even outside their desk."""
    _may_follow(user, dossier)
    choice, _ = Follow.objects.update_or_create(
        user=user, dossier=dossier, defaults={"following": True, "at": timezone.now()}
    )
    return choice


def unfollow(user, dossier: Dossier) -> Follow:
    """`user` is no longer told of the dossier's steps, even as one of its desk's instructors."""
    _may_follow(user, dossier)
    choice, _ = Follow.objects.update_or_create(
        user=user, dossier=dossier, defaults={"following": False, "at": timezone.now()}
    )
    return choice


def is_following(user, dossier: Dossier) -> bool:
    """Whether `user` is told of the dossier's steps that concern the instructors: their own choice if they made
    one, else whether they are one of its desk's instructors."""
    choice = Follow.objects.filter(user=user, dossier=dossier).values_list("following", flat=True).first()
    if choice is not None:
        return choice
    access = access_of(user)
    if dossier.desk == "national":
        return access.is_national
    return bool(access.instructed_region) and access.instructed_region == dossier.pivot_region
