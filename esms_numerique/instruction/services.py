"""The only place that changes who instructs a dossier and who is asked about it: routing to a groupe instructeur,
assignment, hand-over to the national desk, experts' opinions. Every change is audited in its transaction; the
people concerned are told through the notifications outbox once it is committed."""

from __future__ import annotations

from collections import Counter

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F

from esms_numerique import clock
from esms_numerique.accounts.access import access_of
from esms_numerique.accounts.enums import Role
from esms_numerique.audit.services import record
from esms_numerique.dossiers.access import acting_role, can_see, is_instructor_of
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.models import Dossier

from .models import Assignment, DossierRegion, Expert, ExpertOpinion, HandOver, InstructorGroup

User = get_user_model()

# AAP24 §7 nota: the instruction of a multiregional project may move to the national level while it is instructed,
# before any decision (DECISION D-HAND-OVER).
HAND_OVER_STATES = frozenset(
    {State.DEPOSE, State.COMPLEMENT_DEMANDE, State.COMPLETE, State.RECEVABLE, State.EN_INSTRUCTION}
)
HAND_OVER_SOURCE = "AAP ESMS numérique 2024 (ARS Bretagne), §7 « Guichet de dépôt des projets », nota"


class InstructionError(Exception):
    """A change refused; the message is French and says why."""


def _audit(user, action: str, dossier: Dossier, after=None, reason: str = "") -> None:
    record(user.get_username(), action, "Dossier", dossier.reference, after=after, reason=reason)


def _essms(dossier: Dossier) -> list[dict]:
    return (dossier.filed_result or dossier.result or {}).get("essms", [])


# --- regions and routing ---------------------------------------------------------------------------------------


def regions_covered(dossier: Dossier) -> dict[str, int]:
    """The regions of the dossier's frozen ESSMS (its live result before filing), with their number of ESSMS."""
    return dict(Counter(e.get("region") for e in _essms(dossier) if e.get("region")))


def sync_regions(dossier: Dossier, actor: str = "") -> None:
    """The regions of the dossier's frozen ESSMS, rewritten: each one's ARS reads the dossier. Called inside the
    transaction of the change (filing, complement, a grappe changed after the decision); a change of the regions
    covered is audited in it, under `actor`."""
    counts = regions_covered(dossier)
    before = dict(DossierRegion.objects.filter(dossier=dossier).values_list("region", "essms_count"))
    DossierRegion.objects.filter(dossier=dossier).exclude(region__in=counts).delete()
    for region, count in counts.items():
        DossierRegion.objects.update_or_create(dossier=dossier, region=region, defaults={"essms_count": count})
    if before != counts:
        record(
            actor or "système",
            "regions_couvertes",
            "Dossier",
            dossier.reference,
            before={"régions": dict(sorted(before.items()))},
            after={"régions": dict(sorted(counts.items()))},
        )


def group_for(dossier: Dossier) -> InstructorGroup | None:
    """The pivot ARS' group whose departments match most of the dossier's ESSMS, else whose sectors do, else the
    group with neither (its default one); none when the ARS has no group."""
    groups = list(InstructorGroup.objects.filter(region=dossier.pivot_region))
    if not groups:
        return None
    essms = _essms(dossier)
    departments = Counter(str(e.get("department") or "").upper() for e in essms)
    sectors = Counter(str(e.get("sector") or "").upper() for e in essms)
    best = max(groups, key=lambda g: (sum(departments[d] for d in g.department_codes), g.label))
    if sum(departments[d] for d in best.department_codes):
        return best
    best = max(groups, key=lambda g: (sum(sectors[s] for s in g.sector_codes), g.label))
    if sum(sectors[s] for s in best.sector_codes):
        return best
    default = [g for g in groups if not g.department_codes and not g.sector_codes]
    return default[0] if default else None


def route(dossier: Dossier, actor: str = "") -> Assignment | None:
    """At filing: the dossier goes to its ARS' groupe instructeur, when the ARS has configured groups; audited in
    the filing's transaction, under `actor`."""
    if dossier.desk == "national" or Assignment.objects.filter(dossier=dossier).exists():
        return None
    group = group_for(dossier)
    if group is None:
        return None
    assignment = Assignment.objects.create(dossier=dossier, group=group)
    record(actor or "système", "router", "Dossier", dossier.reference, after={"groupe instructeur": group.label})
    return assignment


def current_assignment(dossier: Dossier) -> Assignment | None:
    return (
        Assignment.objects.filter(dossier=dossier)
        .select_related("group", "instructor", "assigned_by")
        .order_by("-at", "-id")
        .first()
    )


# --- assignment ------------------------------------------------------------------------------------------------


def colleagues(user, dossier: Dossier):
    """The instructors a dossier's instructor may assign it to: those of the same desk (the same ARS, or CNSA/DNS
    for a national or handed-over dossier), themself included."""
    role = acting_role(user, dossier)
    users = User.objects.filter(is_active=True).order_by("last_name", "username")
    if role == Role.ARS:
        return users.filter(profile__role=Role.ARS, profile__region=dossier.pivot_region)
    if role == Role.NATIONAL:
        return users.filter(profile__role=Role.NATIONAL)
    return users.none()


def assign(user, dossier: Dossier, instructor) -> Assignment:
    """An instructor takes the dossier (« s'attribuer ») or gives it to a colleague of the same ARS."""
    with transaction.atomic():
        # Locked, then checked: a hand-over or another assignment committed meanwhile is seen (two « s'attribuer »
        # at once give one assignment, the second changes nothing).
        dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
        if not is_instructor_of(user, dossier):
            raise PermissionDenied("Seuls les instructeurs du dossier l'attribuent.")
        if not colleagues(user, dossier).filter(pk=instructor.pk).exists():
            # Never the person's name: any user's number may be typed in the form.
            raise InstructionError(
                "Cette personne n'instruit pas pour la même ARS (ou la CNSA/DNS) que le dossier : attribution refusée."
            )
        current = current_assignment(dossier)
        if current is not None and current.instructor_id == instructor.pk:
            return current  # already theirs (a second click, a form sent twice): nothing changes
        assignment = Assignment.objects.create(
            dossier=dossier, group=current.group if current else None, instructor=instructor, assigned_by=user
        )
        _audit(user, "attribuer", dossier, after={"instructeur": instructor.get_username()})
    if instructor.pk != user.pk:
        _tell(
            [instructor],
            dossier,
            "attribuer",
            "dossier attribué",
            f"{_name(user)} vous attribue l'instruction du dossier {dossier.reference}.",
        )
    return assignment


# --- hand-over to the national desk ----------------------------------------------------------------------------


def may_hand_over(user, dossier: Dossier) -> bool:
    return (
        acting_role(user, dossier) == Role.ARS
        and dossier.state in HAND_OVER_STATES
        and len({e.get("region") for e in _essms(dossier) if e.get("region")}) > 1
    )


def hand_over(user, dossier: Dossier, expected_version: int, reason: str) -> HandOver:
    """The pivot ARS of a multiregional dossier hands its instruction over to CNSA/DNS, with a reason. The desk of
    filing does not change for the porteur (AAP24 §7 nota); the dossier's version moves on, so a form opened
    before is refused."""
    if not can_see(user, dossier):
        raise PermissionDenied("Vous ne voyez pas ce dossier.")
    if acting_role(user, dossier) != Role.ARS:
        raise PermissionDenied("Seule l'ARS pivot qui instruit le dossier confie son instruction au national.")
    if not may_hand_over(user, dossier):
        raise InstructionError(
            "Seule l'instruction d'un projet multirégional, avant la décision, se confie au national "
            f"({HAND_OVER_SOURCE})."
        )
    if not reason.strip():
        raise InstructionError("Indiquez le motif de la demande au national.")
    with transaction.atomic():
        updated = Dossier.objects.filter(pk=dossier.pk, version=expected_version).update(version=F("version") + 1)
        if not updated:
            raise InstructionError("Le dossier a changé depuis que vous l'avez ouvert : rechargez la page.")
        handed = HandOver.objects.create(
            dossier=dossier, by=user, from_region=dossier.pivot_region, reason=reason.strip()
        )
        Assignment.objects.create(dossier=dossier, assigned_by=user)  # back to the national desk, unassigned
        _audit(
            user,
            "confier_au_national",
            dossier,
            after={"instruction": "national", "ARS pivot": dossier.pivot_region},
            reason=reason.strip(),
        )
        national = list(User.objects.filter(is_active=True, profile__role=Role.NATIONAL))
        # The steps' notifications name the desk's instructors by `desk`, which does not change: CNSA/DNS follow the
        # dossier from now on, so they are told of its next steps (notifications' « suivre ») — with the hand-over.
        from esms_numerique.notifications.services import follow

        for instructor in national:
            follow(instructor, dossier)
    dossier.refresh_from_db()
    dossier.handed_over_flag = True
    _tell(
        national,
        dossier,
        "confier_au_national",
        "instruction confiée au national",
        f"L'ARS pivot confie l'instruction du dossier {dossier.reference} au national : {reason.strip()}",
    )
    return handed


# --- experts' opinions -----------------------------------------------------------------------------------------


def experts_for(dossier: Dossier):
    """The experts an instructor may ask about the dossier: those of its pivot region and those of every region."""
    return Expert.objects.filter(region__in=("", dossier.pivot_region)).select_related("user")


def ask_opinion(user, dossier: Dossier, expert_user, question: str) -> ExpertOpinion:
    if not is_instructor_of(user, dossier):
        raise PermissionDenied("Seuls les instructeurs du dossier demandent un avis.")
    if not experts_for(dossier).filter(user=expert_user).exists():
        raise InstructionError("Cette personne n'est pas un expert que l'on peut solliciter sur ce dossier.")
    if not question.strip():
        raise InstructionError("Posez la question à l'expert.")
    with transaction.atomic():
        opinion = ExpertOpinion.objects.create(
            dossier=dossier, expert=expert_user, asked_by=user, question=question.strip()
        )
        _audit(user, "demander_avis", dossier, after={"avis": opinion.pk, "expert": expert_user.get_username()})
    _tell(
        [expert_user],
        dossier,
        f"avis:{opinion.pk}:demande",
        "avis demandé",
        f"{_name(user)} vous demande un avis sur le dossier {dossier.reference} : {opinion.question}",
    )
    return opinion


def answer_opinion(user, opinion: ExpertOpinion, answer: str) -> ExpertOpinion:
    if opinion.expert_id != user.pk:
        raise PermissionDenied("Seul l'expert sollicité rend cet avis.")
    if not answer.strip():
        raise InstructionError("L'avis est vide.")
    with transaction.atomic():
        updated = ExpertOpinion.objects.filter(pk=opinion.pk, answered_at__isnull=True).update(
            answer=answer.strip(), answered_at=clock.now()
        )
        if not updated:
            raise InstructionError("Cet avis est déjà rendu.")
        opinion.refresh_from_db()
        _audit(user, "rendre_avis", opinion.dossier, after={"avis": opinion.pk})
    _tell(
        [opinion.asked_by],
        opinion.dossier,
        f"avis:{opinion.pk}:rendu",
        "avis rendu",
        f"{_name(user)} a rendu son avis sur le dossier {opinion.dossier.reference}.",
    )
    return opinion


def opinions_for(user, dossier: Dossier) -> list[ExpertOpinion]:
    """What the thread shows of the opinions: all of them to the dossier's instructors and to CNSA/DNS and the
    administrators, an expert's own to that expert, none to the porteur and the other readers (DECISION
    D-EXPERT)."""
    opinions = ExpertOpinion.objects.filter(dossier=dossier).select_related("expert", "asked_by")
    access = access_of(user)
    if is_instructor_of(user, dossier) or access.reads_everything:
        return list(opinions)
    if access.role == Role.ARS and access.region == dossier.pivot_region:
        return list(opinions)  # the pivot ARS after a hand-over
    if access.og_id is not None or access.editor is not None:
        return []
    return list(opinions.filter(expert_id=user.pk))


# --- telling -----------------------------------------------------------------------------------------------------


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _tell(users: list, dossier: Dossier, event: str, subject: str, lead: str) -> None:
    """One e-mail per person, through the notifications outbox, once the change is committed."""
    from esms_numerique.notifications.enums import Kind
    from esms_numerique.notifications.services import about, compose, deliver

    people = [u for u in users if u.email and u.is_active]
    if not people:
        return

    def write() -> None:
        what = about(dossier)
        deliver([compose(u, Kind.AUTRE, f"instruction:{event}", what, subject, lead) for u in people])

    transaction.on_commit(write)
