"""`esms demo load --scale national`: the programme at national scale, to click through and to measure the pages
against (`make bench`): the synthetic national FINESS extract (36 500 ESSMS), about 1 400 dossiers across the 18
regions in every state of the small demo (demo_load.PATHS) and about 25 000 usage measurements.

Through the services the load would take some ten minutes (the rules run again at every piece joined, one
transaction per step). Each dossier's story is replayed here in memory instead, with the platform's own parts: the
rules run on the grappe as the services run them (dossiers.evaluation.evaluate, the ledger as it stands), the
workflow's transitions, inputs, guards' checks and effects, the measurements built by indicators.services; then
written in bulk — the rows the services write, the audit log chained as `audit.services.record` chains it, the
ledger written by `record_ledger` as `esms registre reconstruire` does. tests/scale checks the rows against the
services'. No e-mail is sent and no SONS order is made (docs/decisions.md, D-SCALE)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from esms_numerique import clock
from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.audit import services as audit_services
from esms_numerique.audit.models import AuditEntry
from esms_numerique.demo_load import COMMENTED, DEMO_MEASURES, DEMO_PDF, MEASURED, PATHS, _demo_counts
from esms_numerique.dossiers.committees import create_committee
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.evaluation import evaluate, ledger_lines, record_ledger
from esms_numerique.dossiers.listing import refresh_many
from esms_numerique.dossiers.models import (
    AmountVersion,
    Committee,
    CommitteeItem,
    Dossier,
    Message,
    PaymentRequest,
    Piece,
)
from esms_numerique.dossiers.payments import PAYMENT, balance_computation, paid_eur
from esms_numerique.dossiers.pieces import piece_types
from esms_numerique.dossiers.transitions import advance_due
from esms_numerique.dossiers.workflow import WORKFLOW, DossierError
from esms_numerique.indicators.compute import window_start
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.indicators.services import _measurements_of, funded_essms
from esms_numerique.indicators.summary import refresh_all as refresh_follow_up
from esms_numerique.instruction.models import DossierRegion
from esms_numerique.instruction.services import regions_covered
from esms_numerique.instruction.signals import RESULT_FROZEN
from esms_numerique.ledger.models import Recovery
from esms_numerique.registry.demo import DemoFiles, generate
from esms_numerique.registry.models import Establishment
from esms_numerique.registry.services import import_extracts
from esms_numerique.rules.geography import geography
from esms_numerique.rules.payments import overpaid
from esms_numerique.workflow.engine import check_allowed, clean_inputs, seed_counter
from esms_numerique.workflow.models import TransitionLog

NATIONAL_DOSSIERS = 1400
CAMPAIGN = "2024"
ACTOR = "esms demo load --scale national"
ADVANCE_LABEL = "Avance sur le montant engagé"  # dossiers.payments.request_advance
# How many dossiers (per thousand) end in each story of demo_load.PATHS, in its order: drafts, each step of the main
# path, then the side endings. About a fifth are being deployed, measured twice; a seventh reached their targets,
# measured three times: some 25 000 measurements with grappes of 12 to 28 ESSMS.
SHARES = (50, 80, 40, 90, 60, 30, 30, 40, 30, 50, 220, 50, 30, 30, 30, 30, 20, 20, 30, 10, 10, 20)
NATIONAL_SHARE = 0.02  # multiregional grappes of 50 ESSMS or more: the national desk (G-DESK)
SHARED_SHARE = 0.1  # of the filed dossiers not yet decided: one ESSMS also in an earlier one (E-NO-DOUBLE)
# Stories decided in the January committee are filed in its first days; the others until the demo's date.
DECIDED_DAYS = (dt.date(2024, 1, 16), dt.date(2024, 1, 26))
FILED_DAYS = (dt.date(2024, 1, 16), dt.date(2024, 3, 8))
COMMITTEES = {
    "decided": ("Comité de janvier 2024", dt.date(2024, 1, 30), dt.date(2024, 1, 29)),
    "pending": ("Comité d'avril 2024", dt.date(2024, 4, 10), dt.date(2024, 3, 31)),
}
PASSWORDS = ("admin", "cnsa", "instructeur", "grades", "porteur")  # one per role: « <nom>-esms-demo »
assert len(SHARES) == len(PATHS)


@dataclass
class Story:
    """One dossier to replay: its grappe, the steps of its path, the day it is filed (and decided)."""

    steps: list[str]
    grappe: dict[str, Any]
    region: str  # where its ESSMS are drawn (the first region of a national grappe)
    day: dt.date = DECIDED_DAYS[0]
    title: str = ""  # « Grappe <région> n° <numéro> » when not given
    national: bool = False  # multiregional, 50 ESSMS or more


def national_registry(directory: Path) -> DemoFiles:
    return generate(directory, "national")


def import_registry(files: DemoFiles, progress: Callable[[int], None] | None = None) -> str:
    """The synthetic national extract, through the registry's import (all or nothing, audited)."""
    report = import_extracts(
        files.et.name, files.et.read_bytes(), files.ej.name, files.ej.read_bytes(), actor=ACTOR, progress=progress
    )
    return report.summary()


def load_dossiers(
    count: int = NATIONAL_DOSSIERS, progress: Callable[[int], None] | None = None, seed: int = 2024
) -> list[str]:
    """`count` dossiers over the imported registry, in one transaction. A database that already has dossiers is
    left as it is."""
    if Dossier.objects.exists():
        return ["Des dossiers existent déjà : la démonstration nationale se charge dans une base sans dossier."]
    rng = random.Random(seed)
    stories = plan(count, rng)
    with transaction.atomic():
        users = _accounts(stories)
        committees = _committees(users)
        replay = Replay(users, committees)
        for story in stories:
            replay.run(story)
            if progress:
                progress(1)
        replay.flush()
        # The list's columns, which the services keep and this bulk load bypasses (DECISION D-LIST-COLUMNS).
        refresh_many(Dossier.objects.all())
        # Likewise the follow-up's summary of each measured dossier (DECISION D-FOLLOW-UP-SUMMARY).
        refresh_follow_up()
        seed_counter(f"ESMS-{CAMPAIGN}", [replay.number])
    if connection.vendor == "postgresql":
        # Tens of thousands of rows written at once: the planner's statistics, before the first page is read.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    states = Counter(d.state for d in replay.dossiers)
    regions = len({d.pivot_region for d in replay.dossiers if d.pivot_region})
    return [
        f"{len(replay.dossiers)} dossiers de démonstration dans {regions} régions ({len(states)} états), "
        f"{replay.measurement_count} mesures d'usage, {len(replay.audit)} entrées d'audit.",
        "Comptes : cnsa, admin, instructeur-<région> et grades-<région> (18 régions), porteur-<FINESS EJ> "
        f"({len(users['porteurs'])} OG) ; mot de passe : admin-esms-demo, cnsa-esms-demo, "
        "instructeur-esms-demo, grades-esms-demo, porteur-esms-demo.",
    ]


# ---------------------------------------------------------------------------------------------------------------
# The portfolio: which grappe follows which path.


def _apportion(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainders), every weight getting one when it can."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    if total >= len(weights):
        for i, n in enumerate(counts):
            if n == 0:
                counts[i] = 1
                counts[counts.index(max(counts))] -= 1
    return counts


def _pools(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Per region, the open ESSMS (FINESS ET, FINESS EJ), OG by OG in a shuffled order of OGs."""
    by_og: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = (
        Establishment.objects.essms()
        .filter(closed_snapshot__isnull=True)
        .exclude(region="")
        .order_by("finess_et")
        .values_list("finess_et", "region", "legal_entity__finess_ej")
    )
    for finess, region, og in rows:
        by_og[region][og].append(finess)
    pools = {}
    for region in sorted(by_og):
        ogs = sorted(by_og[region])
        rng.shuffle(ogs)
        pools[region] = [(finess, og) for og in ogs for finess in by_og[region][og]]
    return pools


def _grappe(essms: list[tuple[str, str]], rng: random.Random) -> dict[str, Any]:
    """A grappe of these ESSMS; its porteur the OG that manages most of them, the other OGs its members."""
    ogs = Counter(og for _, og in essms)
    porteur = min(ogs, key=lambda og: (-ogs[og], og))
    return {
        "porteur": {"finess_ej": porteur, "vat_regime": "TTC" if rng.random() < 0.8 else "HT"},
        "solution": {"segur_referenced": True},
        "operation": "acquisition" if rng.random() < 0.3 else "upgrade",
        "members": sorted(og for og in ogs if og != porteur),
        "essms": [{"finess_et": finess} for finess, _ in essms],
    }


def plan(count: int, rng: random.Random) -> list[Story]:
    """The stories, in the order they are replayed: each path its share of `count`, each dossier its own ESSMS
    (drawn region by region in proportion to the region's ESSMS), a few multiregional ones at the national desk,
    and a few filed ones sharing an ESSMS with an earlier filed one."""
    pools = _pools(rng)
    paths = [i for i, n in enumerate(_apportion(count, list(SHARES))) for _ in range(n)]
    rng.shuffle(paths)
    national = max(1, round(count * NATIONAL_SHARE)) if count >= 20 else 0
    taken = {region: 0 for region in pools}

    def draw(region: str, size: int) -> list[tuple[str, str]]:
        start = taken[region]
        taken[region] += size
        return pools[region][start : start + size]

    grappes: list[tuple[str, dict[str, Any], bool]] = []
    big = sorted(pools, key=lambda r: -len(pools[r]))[:6]
    for n in range(national):
        first, second = big[n % len(big)], big[(n % len(big) + 1 + (n // len(big)) % (len(big) - 1)) % len(big)]
        size = rng.randint(50, 80)
        essms = draw(first, size * 3 // 5) + draw(second, size - size * 3 // 5)
        grappes.append((first, _grappe(essms, rng), True))
    regional = _apportion(count - national, [len(pools[r]) - taken[r] for r in pools])
    for region, n in zip(pools, regional, strict=True):
        room = (len(pools[region]) - taken[region]) * 0.85
        sizes = [rng.randint(12, 28) for _ in range(n)]
        scale = min(1.0, room / max(1, sum(sizes)))
        for size in sizes:
            grappes.append((region, _grappe(draw(region, max(1, int(size * scale))), rng), False))
    rng.shuffle(grappes)
    stories = [
        Story(list(PATHS[p]), grappe, region, national=national)
        for p, (region, grappe, national) in zip(paths, grappes, strict=True)
    ]
    _national_agenda(stories)
    _days(stories, rng)
    _share_some(stories, rng)
    return stories


def _national_agenda(stories: list[Story]) -> None:
    """The national committee of April has a dossier on its agenda: one national story stops there."""
    on_agenda = PATHS[4]
    national = [s for s in stories if s.national]
    if not national or any(s.steps == on_agenda for s in national):
        return
    other = next((s for s in stories if not s.national and s.steps == on_agenda), None)
    if other is not None:
        other.steps, national[0].steps = national[0].steps, other.steps


def _decided(steps: list[str]) -> bool:
    return any(s in steps for s in ("retenir", "ne_pas_retenir"))


def _pending(steps: list[str]) -> bool:
    """Filed, not decided, not ended: the ledger's « déposé »."""
    ended = ("declarer_non_recevable", "p:desister", "classer_sans_suite")
    return bool(steps) and not _decided(steps) and steps[-1] not in ended


def _days(stories: list[Story], rng: random.Random) -> None:
    for story in stories:
        low, high = DECIDED_DAYS if _decided(story.steps) else FILED_DAYS
        story.day = low + dt.timedelta(days=rng.randint(0, (high - low).days))


def _share_some(stories: list[Story], rng: random.Random) -> None:
    """E-NO-DOUBLE before any decision: some dossiers filed and not decided name an ESSMS of an earlier one."""
    earlier: dict[str, Story] = {}
    for story in stories:
        if not _pending(story.steps):
            continue
        previous = earlier.get(story.region)
        if previous is not None and len(story.grappe["essms"]) < 49 and rng.random() < SHARED_SHARE:
            story.grappe["essms"].append(dict(previous.grappe["essms"][-1]))
        earlier[story.region] = story


# ---------------------------------------------------------------------------------------------------------------
# Accounts and committees.


def _accounts(stories: list[Story]) -> dict[str, Any]:
    """admin, cnsa, an instructor and a GRADeS per region, a porteur per porteur OG. One password per role (hashed
    once: a thousand hashes would take minutes)."""
    from esms_numerique.registry.models import LegalEntity

    hashes = {name: make_password(f"{name}-esms-demo") for name in PASSWORDS}
    regions = sorted(geography().regions)
    ogs = sorted({s.grappe["porteur"]["finess_ej"] for s in stories})
    entities = dict(LegalEntity.objects.filter(finess_ej__in=ogs).values_list("finess_ej", "pk"))
    wanted = [
        ("admin", None, {}),
        ("cnsa", Role.NATIONAL, {}),
        *((f"instructeur-{r}", Role.ARS, {"region": r}) for r in regions),
        *((f"grades-{r}", Role.OBSERVER, {"region": r}) for r in regions),
        *((f"porteur-{og}", Role.PORTEUR, {"legal_entity_id": entities[og]}) for og in ogs),
    ]
    users = User.objects.bulk_create(
        [
            User(
                username=name,
                password=hashes[name.split("-")[0]],
                email=f"{name}@demo.esms-numerique.localhost",
                is_staff=name == "admin",
                is_superuser=name == "admin",
            )
            for name, _, _ in wanted
        ]
    )
    by_name = {user.username: user for user in users}
    Profile.objects.bulk_create(
        [Profile(user=by_name[name], role=role, **scope) for name, role, scope in wanted if role is not None]
    )
    return {
        "cnsa": by_name["cnsa"],
        "instructors": {r: by_name[f"instructeur-{r}"] for r in regions},
        "porteurs": {og: by_name[f"porteur-{og}"] for og in ogs},
        "entities": entities,
    }


def _committees(users: dict[str, Any]) -> dict[tuple[str, str], Committee]:
    """Per region and for the national desk: January's committee, which decided, and April's, with an agenda."""
    found = {}
    for region, instructor in [("", users["cnsa"]), *users["instructors"].items()]:
        for kind, (label, date, cutoff) in COMMITTEES.items():
            found[(region, kind)] = create_committee(instructor, label, date, cutoff)
    return found


# ---------------------------------------------------------------------------------------------------------------
# The replay: a story's steps as the services take them, in memory.


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def _small(value: Any) -> bool:
    return not isinstance(value, dict | list)


@dataclass
class _Story:
    """A dossier being replayed and what it gathered."""

    dossier: Dossier
    porteur: User
    instructor: User
    role: Role
    decides: bool  # on January's committee agenda, decided there; or on April's, not yet decided
    committee_item: CommitteeItem | None = None
    requests: list[Any] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    measurements: list[UsageMeasurement] = field(default_factory=list)
    regions: dict[str, int] = field(default_factory=dict)  # instruction.DossierRegion: the ARS that read it


class Replay:
    def __init__(self, users: dict[str, Any], committees: dict[tuple[str, str], Committee]):
        self.users = users
        self.committees = committees
        self.number = 0
        self.held: dict[str, str] = {}  # E-NO-DOUBLE: the ESSMS a retained, engaged or paid dossier holds
        self.dossiers: list[Dossier] = []
        self.audit: list[AuditEntry] = []
        self.logs: list[tuple[Any, TransitionLog]] = []
        self.rows: dict[type, list[Any]] = defaultdict(list)
        self.members: list[tuple[Dossier, str]] = []
        self.measurement_count = 0
        self.filing_codes = [code for code, _ in piece_types(CAMPAIGN) if code != "autre"]
        self.types = {model: ContentType.objects.get_for_model(model) for model in (Dossier, PaymentRequest)}
        self.sha = hashlib.sha256(DEMO_PDF).hexdigest()

    # -- writing --------------------------------------------------------------------------------------------------

    def _audit(self, user, action: str, reference: str, *, before=None, after=None, reason: str = "") -> None:
        self.audit.append(
            AuditEntry(
                created_at=timezone.now(),
                actor=str(user.get_username())[:150],
                action=action,
                object_type="Dossier",
                object_id=reference,
                before=before,
                after=after,
                reason=reason,
            )
        )

    def _log(self, subject, user, name: str, before: str, after: str, cleaned: dict[str, Any]) -> None:
        log = TransitionLog(
            subject_type=self.types[type(subject)],
            at=clock.now(),
            actor=user,
            transition=name,
            from_state=before,
            to_state=after,
            comment=(cleaned.get("comment") or "").strip(),
            inputs={k: _jsonable(v) for k, v in cleaned.items() if k != "comment" and not k.startswith("_")},
        )
        self.logs.append((subject, log))

    # -- one story ------------------------------------------------------------------------------------------------

    def run(self, story: Story) -> None:
        self.number += 1
        grappe = {**story.grappe, "campaign": CAMPAIGN}
        with clock.pinned(story.day):
            # The rules as they read the grappe with every filing piece (E-PIECES asks no more of a grappe than its
            # required pieces, which are then the ones joined): the draft's live result and the frozen one.
            result = evaluate(grappe, story.day, self.filing_codes if story.steps else None)
        porteur = self.users["porteurs"][grappe["porteur"]["finess_ej"]]
        national = result.get("desk") == "national"
        instructor = self.users["cnsa"] if national else self.users["instructors"].get(result.get("pivot_region"))
        if instructor is None:
            raise DossierError(f"grappe sans ARS pivot : {result.get('errors') or result.get('pivot_region')}")
        dossier = Dossier(
            reference=f"ESMS-{CAMPAIGN}-{self.number:05d}",
            title=story.title or f"Grappe {geography().region_name(story.region)} n° {self.number}",
            campaign=CAMPAIGN,
            porteur_id=self.users["entities"][grappe["porteur"]["finess_ej"]],
            created_by=porteur,
            grappe=grappe,
            result=result,
            desk=result.get("desk") or "",
            pivot_region=result.get("pivot_region") or "",
        )
        state = _Story(dossier, porteur, instructor, Role.NATIONAL if national else Role.ARS, _decided(story.steps))
        with clock.pinned(story.day):
            # « Modifié le » as the services stamp it (D-LIST-COLUMNS): at creation, then at each step below.
            dossier.created_at = dossier.updated_at = clock.now()
            self._audit(
                porteur, "create_dossier", dossier.reference, after={"titre": dossier.title, "campagne": "2024"}
            )
            if story.steps:
                self._pieces(state)
        self.members += [(dossier, og) for og in grappe.get("members", [])]
        for step in story.steps:
            self._step(state, step, story.day)
        if dossier.state == State.EN_DEPLOIEMENT:
            self._measure(state, reached=False)
        dossier.save()
        record_ledger(dossier)
        self.dossiers.append(dossier)
        for model, rows in (
            (Recovery, state.recoveries),
            (UsageMeasurement, state.measurements),
        ):
            self.rows[model] += rows
        self.rows[PaymentRequest] += state.requests
        self.rows[DossierRegion] += [
            DossierRegion(dossier=dossier, region=region, essms_count=count) for region, count in state.regions.items()
        ]
        self.measurement_count += len(state.measurements)

    def _pieces(self, state: _Story) -> None:
        """demo_load._attach_demo_pieces: the pieces E-PIECES asks of this grappe, one file each."""
        dossier = state.dossier
        for code in dossier.result["required_pieces"]:
            piece = Piece(
                dossier=dossier,
                code=code,
                original_name=f"{code}.pdf",
                size=len(DEMO_PDF),
                sha256=self.sha,
                uploaded_by=state.porteur,
                uploaded_at=clock.now(),
            )
            piece.file.save(f"{dossier.reference}-{code}-{self.sha[:12]}", ContentFile(DEMO_PDF), save=False)
            self.rows[Piece].append(piece)
            self._audit(
                state.porteur,
                "add_piece",
                dossier.reference,
                after={"pièce": code, "fichier": piece.original_name, "sha256": self.sha},
            )

    def _step(self, state: _Story, step: str, day: dt.date) -> None:
        """One step of demo_load.load_demo's loop."""
        dossier = state.dossier
        actor = state.porteur if step.startswith("p:") else state.instructor
        name = step.removeprefix("p:")
        if name == "inscrire_comite":
            with clock.pinned(day):
                self._agenda(state)
                dossier.updated_at = clock.now()
        elif name in ("retenir", "ne_pas_retenir"):
            with clock.pinned(day):
                self._decide(state, "retenu" if name == "retenir" else "non_retenu", "Décision de démonstration")
                dossier.updated_at = clock.now()
        elif name.startswith("$"):
            request = state.requests[-1]
            reference = {"payment_reference": f"DEMO-{dossier.reference}-{request.kind}"}
            with clock.pinned(day if request.kind == "avance" else clock.today()):
                self._payment(state, request, name[1:], reference)
                dossier.updated_at = clock.now()
        elif name in MEASURED:
            if name == "enregistrer_cibles":
                self._measure(state, reached=True)
            self._transition(state, name, actor, "", {"expenses_statement": True})
            dossier.updated_at = clock.now()
        else:
            comment = "Commentaire de démonstration" if name in COMMENTED else ""
            with clock.pinned(day):
                self._transition(state, name, actor, comment)
                dossier.updated_at = clock.now()

    def _transition(
        self, state: _Story, name: str, user, comment: str = "", data: dict | None = None, via: str = ""
    ) -> None:
        """dossiers.services.apply_transition and workflow.engine.fire, in memory."""
        dossier = state.dossier
        role = Role.PORTEUR if user == state.porteur else state.role
        transition = check_allowed(WORKFLOW, dossier, name, role, via)
        cleaned = clean_inputs(transition, {**(data or {}), "comment": comment}, DossierError)
        for guard in transition.guards:
            self._guard(state, guard, cleaned)
        changes = self._effect(state, transition.effect, cleaned) if transition.effect else {}
        before = dossier.state
        for key, value in changes.items():
            setattr(dossier, key, value)
        dossier.state, dossier.version = transition.target, dossier.version + 1
        self._log(dossier, user, name, before, transition.target, cleaned)
        if name in RESULT_FROZEN:
            self._regions(state, user)
        if transition.then:
            self._then(state, transition.then, cleaned, user)
        text = (comment or "").strip()
        if name == "retenir":
            self.rows[AmountVersion].append(
                AmountVersion(
                    dossier=dossier, number=1, amount_eur=dossier.engaged_eur, actor=user, reason=text, at=clock.now()
                )
            )
        if text and transition.needs_comment:
            self.rows[Message].append(
                Message(dossier=dossier, author=user, body=f"{transition.label} : {text}", at=clock.now())
            )
        after = {"état": transition.target, **{k: _jsonable(v) for k, v in changes.items() if _small(v)}}
        self._audit(user, f"transition:{name}", dossier.reference, before={"état": before}, after=after, reason=comment)

    def _regions(self, state: _Story, user) -> None:
        """instruction.services.sync_regions, in memory: the regions of the frozen ESSMS, audited when they change
        (the national demo has no groupe instructeur: nothing is routed)."""
        dossier = state.dossier
        counts = regions_covered(dossier)
        if counts != state.regions:
            before, after = dict(sorted(state.regions.items())), dict(sorted(counts.items()))
            reference = dossier.reference
            self._audit(user, "regions_couvertes", reference, before={"régions": before}, after={"régions": after})
        state.regions = counts

    def _guard(self, state: _Story, name: str, cleaned: dict[str, Any]) -> None:
        dossier = state.dossier
        if name in ("filing_admissible", "complement_admissible"):
            # The same grappe, pieces and day as the draft's live result: the rules give the same result.
            blocking = [f["rule"] for f in dossier.result.get("findings", []) if f["verdict"] == "bloquant"]
            if dossier.result.get("errors") or blocking:
                raise DossierError(f"{dossier.reference} : grappe refusée au dépôt ({', '.join(blocking)}).")
            cleaned["_result"] = dossier.result
        elif name == "no_double_funding":
            wanted = {line.finess_et for line in ledger_lines(dossier) if line.fundable}
            clashes = sorted(f for f in wanted if self.held.setdefault(f, dossier.reference) != dossier.reference)
            if clashes:
                raise DossierError(f"{dossier.reference} : E-NO-DOUBLE ({', '.join(clashes)}).")
        elif name == "usage_targets_met":
            last = max(m.measurement_date for m in state.measurements)
            at_last = {m.finess_et: m for m in state.measurements if m.measurement_date == last}
            funded = funded_essms(dossier)
            if any(f not in at_last or not all(at_last[f].targets_met.values()) for f in funded):
                raise DossierError(f"{dossier.reference} : cibles non atteintes.")
            cleaned["_targets_met_on"] = last
        elif name == "targets_recorded":
            if not dossier.targets_met_on:
                raise DossierError(f"{dossier.reference} : cibles non enregistrées.")
        elif name == "recoveries_settled":
            if any(r.state == Recovery.State.ISSUED for r in state.recoveries):
                raise DossierError(f"{dossier.reference} : reversement à recouvrer.")
        else:
            raise DossierError(f"garde inconnue de la démonstration nationale : {name}")

    def _effect(self, state: _Story, name: str, cleaned: dict[str, Any]) -> dict[str, Any]:
        dossier = state.dossier
        if name == "pay_advance":
            request = self._open_request(state, "avance")
            return {"advance_paid_eur": request.amount_eur, "advance_paid_on": request.paid_on}
        if name == "pay_balance":
            request = self._open_request(state, "solde")
            return {
                "expenses_statement": True,
                "balance_paid_eur": request.amount_eur,
                "balance_paid_on": request.paid_on,
            }
        # The others read only the dossier and the inputs: the workflow's own.
        return WORKFLOW.effects[name](dossier, cleaned)

    @staticmethod
    def _open_request(state: _Story, kind: str):
        return [r for r in state.requests if r.kind == kind and r.state != "refusee"][-1]

    def _then(self, state: _Story, name: str, cleaned: dict[str, Any], user) -> None:
        """dossiers.payments' follow-ups."""
        dossier = state.dossier
        if name == "request_advance":
            amount = advance_due(dossier)
            state.requests.append(
                PaymentRequest(
                    dossier=dossier,
                    kind=PaymentRequest.Kind.ADVANCE,
                    amount_eur=amount,
                    computation={
                        "lines": [
                            {
                                "rule": "F-PAY",
                                "label": "Avance sur le montant engagé",
                                "amount_eur": amount,
                                "source": "",
                            }
                        ],
                        "total_eur": amount,
                    },
                    requested_by=user,
                    requested_at=clock.now(),
                )
            )
        elif name == "request_balance":
            equipment, amoa = cleaned.get("equipment_spent_eur"), cleaned.get("amoa_spent_eur")
            computation = balance_computation(dossier, equipment, amoa)
            state.requests.append(
                PaymentRequest(
                    dossier=dossier,
                    kind=PaymentRequest.Kind.BALANCE,
                    amount_eur=computation.total_eur,
                    computation=computation.as_dict(),
                    equipment_spent_eur=equipment,
                    amoa_spent_eur=amoa,
                    requested_by=user,
                    requested_at=clock.now(),
                )
            )
        elif name == "recover_paid":
            recovered = sum(r.amount_eur for r in state.recoveries)
            amount = overpaid(paid_eur(dossier) - recovered, 0)
            if amount:
                reason = f"Abandon du projet : {cleaned.get('comment', '')}".strip()
                state.recoveries.append(
                    Recovery(
                        dossier=dossier,
                        amount_eur=amount,
                        reason=reason,
                        rule="F-PAY",
                        issued_by=user.get_username(),
                        issued_at=clock.now(),
                    )
                )
                self._audit(user, "issue_recovery", dossier.reference, after={"montant": amount}, reason=reason)
        else:
            raise DossierError(f"suite inconnue de la démonstration nationale : {name}")

    def _payment(self, state: _Story, request, name: str, data: dict[str, Any]) -> None:
        """dossiers.payments.apply_payment_transition, in memory; a paid request moves the dossier."""
        transition = check_allowed(PAYMENT, request, name, state.role)
        cleaned = clean_inputs(transition, data, DossierError)
        changes = PAYMENT.effects[transition.effect](request, cleaned) if transition.effect else {}
        before = request.state
        for key, value in changes.items():
            setattr(request, key, value)
        request.state, request.version = transition.target, request.version + 1
        self._log(request, state.instructor, name, before, transition.target, cleaned)
        if transition.then == "move_dossier":
            step = {"avance": "verser_avance", "solde": "verser_solde"}[request.kind]
            self._transition(state, step, state.instructor, data.get("comment") or "", via="paiement")
        after = {"état": transition.target, **{k: _jsonable(v) for k, v in changes.items() if _small(v)}}
        self._audit(
            state.instructor,
            f"payment:{name}",
            state.dossier.reference,
            before={"état": before},
            after={**after, "demande": request.get_kind_display(), "montant": request.amount_eur},
            reason=data.get("comment", ""),
        )

    def _agenda(self, state: _Story) -> None:
        """committees.add_to_agenda: April's committee (its agenda), or January's for a dossier it decides."""
        dossier = state.dossier
        region = "" if dossier.desk == "national" else dossier.pivot_region
        kind = "decided" if state.decides else "pending"
        committee = self.committees[(region, kind)]
        if dossier.filed_at.date() > committee.cutoff_date:
            raise DossierError(f"{dossier.reference} : déposé après la date limite du comité.")
        self._transition(
            state,
            "inscrire_comite",
            state.instructor,
            f"Inscrit au comité « {committee.label} » du {committee.date:%d/%m/%Y}.",
            via="comite",
        )
        state.committee_item = CommitteeItem(committee=committee, dossier=dossier)
        self.rows[CommitteeItem].append(state.committee_item)

    def _decide(self, state: _Story, decision: str, reason: str) -> None:
        item = state.committee_item
        transition = "retenir" if decision == "retenu" else "ne_pas_retenir"
        self._transition(state, transition, state.instructor, reason, via="comite")
        item.decision, item.reason, item.decided_at = decision, reason.strip(), clock.now()
        self._audit(
            state.instructor,
            "committee_decision",
            state.dossier.reference,
            after={"comité": item.committee.label, "décision": decision},
            reason=reason,
        )

    def _measure(self, state: _Story, reached: bool) -> None:
        """demo_load._demo_measurements: the rows indicators.services builds from each measure, and its audit."""
        dossier = state.dossier
        funded = funded_essms(dossier)
        for on, rates in DEMO_MEASURES if reached else DEMO_MEASURES[:2]:
            date = dt.date.fromisoformat(on)
            data = {
                "measurement_date": on,
                "window_start": window_start(date, 3).isoformat(),
                "window_end": on,
                "essms": {f: _demo_counts(40 + n % 7, rates) for n, f in enumerate(funded)},
            }
            rows = _measurements_of(dossier, data, state.porteur, set(funded))
            for row in rows:
                row.recorded_at = clock.now()
            state.measurements += rows
            self._audit(
                state.porteur,
                "record_measurements",
                dossier.reference,
                after={"dates": [on], "essms": sorted({row.finess_et for row in rows}), "kept": []},
            )

    # -- the bulk writes ------------------------------------------------------------------------------------------

    def flush(self) -> None:
        through = Dossier.members.through
        from esms_numerique.registry.models import LegalEntity

        entities = dict(
            LegalEntity.objects.filter(finess_ej__in={og for _, og in self.members}).values_list("finess_ej", "pk")
        )
        through.objects.bulk_create(
            [through(dossier_id=d.pk, legalentity_id=entities[og]) for d, og in self.members if og in entities],
            batch_size=5000,
        )
        for model in (
            Piece,
            Message,
            AmountVersion,
            CommitteeItem,
            PaymentRequest,
            UsageMeasurement,
            Recovery,
            DossierRegion,
        ):
            for row in self.rows[model]:
                row.dossier_id = row.dossier.pk
            model.objects.bulk_create(self.rows[model], batch_size=2000)
        for subject, log in self.logs:
            log.subject_id = subject.pk
        TransitionLog.objects.bulk_create([log for _, log in self.logs], batch_size=5000)
        self._chain()

    def _chain(self) -> None:
        """The audit entries, chained after the last one as audit.services.record chains them, under the same lock
        against a concurrent writer."""
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [audit_services.LOCK_KEY])
            last = AuditEntry.objects.order_by("-id").only("digest").first()
            previous = last.digest if last else audit_services.GENESIS
            for entry in self.audit:
                entry.previous_digest = previous
                entry.digest = previous = entry.compute_digest()
            AuditEntry.objects.bulk_create(self.audit, batch_size=2000)
