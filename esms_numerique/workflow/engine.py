"""Lifecycles as data. A transition declares where it leads from, who may take it, the inputs it needs (the page
shows exactly those), the guards that must hold and the effect it has on the subject's fields. `fire` is the one
way a subject changes state: the row is locked, the guards are checked and the change written in the same
transaction, the step is logged and audited (docs/decisions.md, D-TRANSITIONS)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.db.models import F

from esms_numerique.rules.inputs import MAX_AMOUNT_EUR  # one bound for every amount typed (D-LIMITS)

from .models import ReferenceCounter, TransitionLog


class Refusal(Exception):
    """A change the rules refuse; the message is French and says why."""


class StaleSubject(Refusal):
    pass


@dataclass(frozen=True)
class Input:
    """What the person firing a transition types: its name in the form and API, its French label, its kind."""

    name: str
    label: str
    kind: str  # "date", "amount", "text", "checkbox"
    required: bool = False
    help: str = ""
    demand: str = ""  # how a refusal names it: « un commentaire pour le porteur »


COMMENT = Input(
    "comment", "Commentaire (transmis au porteur)", "text", required=True, demand="un commentaire pour le porteur"
)
DATE = Input("date", "Date", "date", help="Aujourd'hui si vide.")


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    inputs: tuple[Input, ...] = ()
    guards: tuple[str, ...] = ()  # names in the workflow's guard registry
    effect: str | None = None  # name in the workflow's effect registry
    then: str | None = None  # name in the workflow's follow-up registry: records the step creates once written
    via: str = ""  # taken from elsewhere, not from the subject's page: a committee's agenda, a payment request
    danger: bool = False  # a decision against the porteur: secondary style and a confirmation on the page
    notifies: tuple[str, ...] = ()  # whom the step concerns (porteur, instructeurs, editeur, og, payeur)

    @property
    def committee_only(self) -> bool:
        return bool(self.via)

    @property
    def needs_comment(self) -> bool:
        return any(i.name == "comment" and i.required for i in self.inputs)


Guard = Callable[[Any, dict[str, Any]], None]
Effect = Callable[[Any, dict[str, Any]], dict[str, Any]]
FollowUp = Callable[[Any, dict[str, Any], Any], None]


@dataclass
class Workflow:
    """The transitions of one kind of subject, with the guards and effects they name."""

    name: str
    transitions: list[Transition]
    subject_noun: str  # « le dossier », « la commande »: for the messages
    error: type[Refusal] = Refusal
    stale: type[Refusal] = StaleSubject
    stale_message: str = (
        "Modifié par quelqu'un d'autre depuis que vous l'avez ouvert : rechargez la page, vos changements n'ont "
        "pas été enregistrés."
    )
    guards: dict[str, Guard] = field(default_factory=dict)
    effects: dict[str, Effect] = field(default_factory=dict)
    follow_ups: dict[str, FollowUp] = field(default_factory=dict)
    # Told of every step once its transaction is committed (the notifications app registers here).
    listeners: list[Callable[[Any, Transition, Any], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_name = {t.name: t for t in self.transitions}

    def get(self, name: str) -> Transition | None:
        return self.by_name.get(name)

    def from_state(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    def guard(self, name: str) -> Callable[[Guard], Guard]:
        def register(function: Guard) -> Guard:
            self.guards[name] = function
            return function

        return register

    def effect(self, name: str) -> Callable[[Effect], Effect]:
        def register(function: Effect) -> Effect:
            self.effects[name] = function
            return function

        return register

    def then(self, name: str) -> Callable[[FollowUp], FollowUp]:
        def register(function: FollowUp) -> FollowUp:
            self.follow_ups[name] = function
            return function

        return register

    def missing(self) -> list[str]:
        """Guards, effects and follow-ups named by a transition but registered by nobody."""
        missing = {g for t in self.transitions for g in t.guards} - set(self.guards)
        missing |= {t.effect for t in self.transitions if t.effect} - set(self.effects)
        missing |= {t.then for t in self.transitions if t.then} - set(self.follow_ups)
        return sorted(missing)


def clean_inputs(transition: Transition, data: dict[str, Any], error: type[Refusal]) -> dict[str, Any]:
    """Keeps the inputs the transition declares, checked: a required one must be there; a date is a date; an amount
    a whole number of euros within the database's range."""
    cleaned: dict[str, Any] = {}
    for item in transition.inputs:
        value = data.get(item.name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", False):
            if item.required:
                raise error(f"« {transition.label} » demande {item.demand}.")
            cleaned[item.name] = False if item.kind == "checkbox" else None
            continue
        if item.kind == "date" and not isinstance(value, dt.date):
            try:
                value = dt.date.fromisoformat(str(value))
            except ValueError:
                raise error(f"{item.label} : « {value} » n'est pas une date (AAAA-MM-JJ).") from None
        if item.kind == "amount":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise error(f"{item.label} : « {value} » n'est pas un montant en euros.") from None
            if not 0 <= value <= MAX_AMOUNT_EUR:
                raise error(f"{item.label} : le montant doit être compris entre 0 et {MAX_AMOUNT_EUR} €.")
        if item.kind == "checkbox":
            value = bool(value)
        cleaned[item.name] = value
    return cleaned


def _check_source(workflow: Workflow, transition: Transition, subject: models.Model) -> None:
    if subject.state not in transition.sources:
        raise workflow.error(
            f"« {transition.label} » est impossible quand {workflow.subject_noun} est "
            f"« {subject.get_state_display()} »."
        )


VIA = {
    "comite": "depuis l'ordre du jour d'un comité de sélection",
    "paiement": "depuis la demande de paiement",
}


def check_allowed(workflow: Workflow, subject: models.Model, name: str, role: str | None, via: str = ""):
    """The transition named `name`, if `role` may take it from the subject's state as read; raises otherwise."""
    transition = workflow.get(name)
    if transition is None:
        raise workflow.error(f"Action inconnue « {name} ».")
    if role not in transition.roles:
        raise PermissionDenied(f"Vous ne pouvez pas « {transition.label.lower()} » sur {workflow.subject_noun}.")
    if transition.via and transition.via != via:
        raise workflow.error(f"« {transition.label} » se fait {VIA[transition.via]}.")
    _check_source(workflow, transition, subject)
    return transition


def fire(
    workflow: Workflow,
    subject: models.Model,
    transition: Transition,
    user,
    expected_version: int,
    data: dict[str, Any],
    after: Callable[[models.Model, str], None] | None = None,
    audit: Callable[[models.Model, dict[str, Any], dict[str, Any]], None] | None = None,
) -> models.Model:
    """Takes `transition` on `subject` for `user` (whose right to take it the caller has checked): in one
    transaction, the subject's row is locked and re-read, its state and version checked, the guards run, the
    effect's changes and the new state written, the step logged, `after` run (the ledger) and the change audited."""
    model = type(subject)
    cleaned = clean_inputs(transition, data, workflow.error)
    try:
        with transaction.atomic():
            locked = model.objects.select_for_update().get(pk=subject.pk)
            if locked.version != expected_version:
                raise workflow.stale(workflow.stale_message)
            _check_source(workflow, transition, locked)
            for name in transition.guards:
                workflow.guards[name](locked, cleaned)
            changes = workflow.effects[transition.effect](locked, cleaned) if transition.effect else {}
            before = locked.state
            model.objects.filter(pk=locked.pk).update(state=transition.target, version=F("version") + 1, **changes)
            locked.refresh_from_db()
            TransitionLog.objects.create(
                subject_type=ContentType.objects.get_for_model(model),
                subject_id=locked.pk,
                actor=user,
                transition=transition.name,
                from_state=before,
                to_state=transition.target,
                comment=(cleaned.get("comment") or "").strip(),
                inputs={k: _jsonable(v) for k, v in cleaned.items() if k != "comment" and not k.startswith("_")},
            )
            if transition.then:
                workflow.follow_ups[transition.then](locked, cleaned, user)
            if after is not None:
                after(locked, transition.name)
            for listener in workflow.listeners:
                transaction.on_commit(lambda listener=listener: listener(locked, transition, user))
            if audit is not None:
                audit(
                    locked,
                    {"état": before},
                    {"état": transition.target, **{k: _jsonable(v) for k, v in changes.items() if _small(v)}},
                )
    except IntegrityError as error:
        raise workflow.error(
            "Un autre changement concurrent a pris cette place (un même ESSMS ne peut être financé deux fois) : "
            "rechargez la page."
        ) from error
    subject.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return subject


def _small(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def transitions_log(subject: models.Model):
    return TransitionLog.objects.filter(
        subject_type=ContentType.objects.get_for_model(type(subject)), subject_id=subject.pk
    ).select_related("actor")


def next_number(key: str) -> int:
    """The next number for `key`, from a counter row locked for the rest of the caller's transaction: two
    concurrent creations never get the same number (docs/decisions.md, D-REFERENCES)."""
    with transaction.atomic():
        counter = ReferenceCounter.objects.select_for_update().filter(key=key).first()
        if counter is None:
            try:
                with transaction.atomic():
                    counter = ReferenceCounter.objects.create(key=key, value=0)
            except IntegrityError:
                counter = ReferenceCounter.objects.select_for_update().get(key=key)
        ReferenceCounter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
        counter.refresh_from_db()
        return counter.value


def seed_counter(key: str, at_least: Iterable[int]) -> None:
    """Starts a counter past numbers already given (data created before counters existed)."""
    highest = max(at_least, default=0)
    ReferenceCounter.objects.update_or_create(key=key, defaults={"value": highest})
