"""The national demo replays its dossiers in memory and writes them in bulk (esms_numerique/demo_national.py): the
rows must be the ones the services write. Every story of the small demo (demo_load.PATHS) is played once through
the services (demo_load.play) and once through the replay, on the same registry, accounts and committees; the
rows of both are compared, ids and times of day aside. A change to a service that the replay does not follow
fails here."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain
from esms_numerique.demo_load import PATHS, _demo_og, play
from esms_numerique.demo_national import COMMITTEES, Replay, Story, _decided
from esms_numerique.dossiers.committees import create_committee
from esms_numerique.dossiers.listing import refresh_many
from esms_numerique.dossiers.models import (
    AmountVersion,
    CommitteeItem,
    Dossier,
    Message,
    PaymentRequest,
    Piece,
)
from esms_numerique.indicators.models import UsageMeasurement
from esms_numerique.instruction.models import DossierRegion
from esms_numerique.ledger.models import FundedEssms, Recovery
from esms_numerique.registry.demo import generate
from esms_numerique.registry.models import Establishment
from esms_numerique.registry.services import import_extracts
from esms_numerique.workflow.engine import seed_counter
from esms_numerique.workflow.models import ReferenceCounter, TransitionLog

pytestmark = pytest.mark.django_db
DAY = dt.date(2024, 1, 16)
TIME = re.compile(r"T\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")


class Rollback(Exception):
    pass


@pytest.fixture
def world(tmp_path, settings):
    """The small synthetic registry; the demo OG's porteur, its ARS, CNSA/DNS; January's and April's committees of
    both. Stories like the small demo's (decided dossiers their own ESSMS, the others sharing theirs, so that the
    rules see other filed dossiers: E-NO-DOUBLE), and one national grappe taken through the whole main path."""
    settings.ESMS_TODAY = "2024-03-11"
    files = generate(tmp_path, "small")
    import_extracts(files.et.name, files.et.read_bytes(), files.ej.name, files.ej.read_bytes())
    entity, essms, region = _demo_og()

    def user(name, role, **scope):
        account = User.objects.create_user(name, password="x")
        Profile.objects.create(user=account, role=role, **scope)
        return account

    porteur = user("porteur", Role.PORTEUR, legal_entity=entity)
    users = {
        "cnsa": user("cnsa", Role.NATIONAL),
        "instructors": {region: user("instructeur", Role.ARS, region=region)},
        "porteurs": {entity.finess_ej: porteur},
        "entities": {entity.finess_ej: entity.pk},
    }
    committees = {
        (scope, kind): create_committee(instructor, label, date, cutoff)
        for scope, instructor in (("", users["cnsa"]), (region, users["instructors"][region]))
        for kind, (label, date, cutoff) in COMMITTEES.items()
    }
    elsewhere = list(
        Establishment.objects.essms().exclude(region=region).order_by("finess_et").values_list("finess_et", flat=True)
    )
    decided = iter(range(20, len(essms), 10))
    stories = []
    for steps in PATHS:
        start = next(decided) if "retenir" in steps else 0
        numbers = essms[start : start + (10 if start else 20)]
        stories.append(Story(list(steps), _grappe(entity.finess_ej, numbers), region, DAY, "Démonstration"))
    national = _grappe(entity.finess_ej, essms[next(decided) :] + elsewhere[:35])  # past the decided ones
    stories.append(Story(list(PATHS[16]), national, region, DAY, "Démonstration nationale"))
    return {"users": users, "committees": committees, "stories": stories, "porteur": porteur}


def _grappe(og: str, numbers: list[str]) -> dict[str, Any]:
    """The OGs of the other ESSMS are the grappe's members (they see the dossier)."""
    members = Establishment.objects.filter(finess_et__in=numbers).exclude(legal_entity__finess_ej=og)
    return {
        "porteur": {"finess_ej": og, "vat_regime": "TTC"},
        "solution": {"segur_referenced": True},
        "operation": "upgrade",
        "members": sorted(set(members.values_list("legal_entity__finess_ej", flat=True))),
        "essms": [{"finess_et": n} for n in numbers],
    }


def through_services(world) -> None:
    users, committees = world["users"], world["committees"]
    for story in world["stories"]:
        national = len(story.grappe["essms"]) >= 50
        instructor = users["cnsa"] if national else users["instructors"][story.region]
        committee = committees[("" if national else story.region, "decided" if _decided(story.steps) else "pending")]
        play(world["porteur"], instructor, committee, story.title, story.grappe, story.steps, story.day)


def replayed(world) -> None:
    replay = Replay(world["users"], world["committees"])
    for story in world["stories"]:
        replay.run(story)
    replay.flush()
    refresh_many(Dossier.objects.all())  # as load_dossiers does after its replay (DECISION D-LIST-COLUMNS)
    seed_counter("ESMS-2024", [replay.number])


# ---------------------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Times of day differ between two runs: dates are compared, and a date-time in JSON by its date."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date()
    if isinstance(value, str):
        return TIME.sub("", value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def rows(values, keys: dict[str, dict], drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rows as dicts without their ids, each foreign key by a name both runs share, sorted."""
    found = []
    for row in values:
        row = {k: v for k, v in row.items() if k != "id" and k not in drop}
        for name, names in keys.items():
            if name in row:
                row[name] = names.get(row[name], row[name])
        found.append(_plain(row))
    return sorted(found, key=repr)


def _content(piece: Piece) -> bytes:
    with piece.file.open("rb") as stream:
        return stream.read()


def snapshot(since: int) -> dict[str, Any]:
    references = dict(Dossier.objects.values_list("pk", "reference"))
    users = dict(User.objects.values_list("pk", "username"))
    requests = {r.pk: f"{references[r.dossier_id]}/{r.kind}" for r in PaymentRequest.objects.all()}
    keys = {"dossier_id": references, "created_by_id": users, "author_id": users, "actor_id": users}
    keys |= {"uploaded_by_id": users, "requested_by_id": users, "recorded_by_id": users}
    dossier_type = ContentType.objects.get_for_model(Dossier).pk
    logs = [
        {**row, "subject_id": (references if row["subject_type_id"] == dossier_type else requests)[row["subject_id"]]}
        for row in TransitionLog.objects.values()
    ]
    return {
        "dossiers": rows(Dossier.objects.values(), keys),
        "members": sorted(
            (references[d], og) for d, og in Dossier.members.through.objects.values_list("dossier_id", "legalentity_id")
        ),
        "pieces": rows(Piece.versions.values(), keys, drop=("file",)),
        "files": sorted(_content(p) for p in Piece.versions.all()),
        "messages": rows(Message.objects.values(), keys),
        "amounts": rows(AmountVersion.objects.values(), keys),
        "items": rows(CommitteeItem.objects.values(), keys),
        "requests": rows(PaymentRequest.objects.values(), keys),
        "logs": rows(logs, keys),
        "measurements": rows(UsageMeasurement.objects.values(), keys),
        "recoveries": rows(Recovery.objects.values(), keys),
        "regions": rows(DossierRegion.objects.values(), keys),
        "ledger": rows(FundedEssms.objects.values(), keys, drop=("updated_at",)),
        "counter": list(ReferenceCounter.objects.values_list("key", "value")),
        "audit": [
            _plain(row)
            for row in AuditEntry.objects.filter(id__gt=since)
            .order_by("id")
            .values("actor", "action", "object_type", "object_id", "before", "after", "reason", "version")
        ],
    }


def test_the_replay_writes_the_rows_the_services_write(world):
    since = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    try:
        with transaction.atomic():
            through_services(world)
            expected = snapshot(since)
            raise Rollback
    except Rollback:
        pass
    assert not Dossier.objects.exists()
    replayed(world)
    got = snapshot(since)
    assert {state for state in Dossier.objects.values_list("state", flat=True)} >= {"clos", "en_deploiement"}
    assert all(expected.values()), [part for part, found in expected.items() if not found]  # compares something
    assert any(f["rule"] == "E-NO-DOUBLE" for d in expected["dossiers"] for f in d["result"]["findings"])
    for part in expected:
        assert got[part] == expected[part], part
    assert verify_chain() == []
