"""The only place that changes the registry: imports of FINESS extracts and sector corrections
(docs/decisions.md, D-REGISTRY-SNAPSHOTS, D-SECTOR-MAP)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, models, transaction

from esms_numerique.audit.services import record
from esms_numerique.rules.geography import geography
from esms_numerique.rules.parameters import default_tree
from esms_numerique.rules.results import Finding, Verdict

from .extract import Extract, ExtractError, parse_ej, parse_et
from .models import Establishment, LegalEntity, Snapshot
from .upsert import upsert_registry

REGISTRY_LOCK = 0x46494E455353  # pg_advisory_xact_lock key of FINESS imports (« FINESS » in ASCII)
ADDRESS = {
    "rs": "name",
    "rslongue": "long_name",
    "complrs": "name_complement",
    "compldistrib": "distribution_complement",
    "numvoie": "street_number",
    "typvoie": "street_type",
    "voie": "street",
    "compvoie": "street_complement",
    "lieuditbp": "locality",
    "commune": "commune_code",
    "departement": "department",
    "libdepartement": "department_label",
    "ligneacheminement": "postal_line",
    "telephone": "phone",
    "telecopie": "fax",
    "maj": "updated_on",
}
ET_FIELDS = {
    **ADDRESS,
    "categetab": "category",
    "libcategetab": "category_label",
    "categagretab": "aggregate_category",
    "libcategagretab": "aggregate_category_label",
    "siret": "siret",
    "codeape": "ape_code",
    "codemft": "mft_code",
    "libmft": "mft_label",
    "codesph": "sph_code",
    "libsph": "sph_label",
    "dateouv": "opened_on",
    "dateautor": "authorized_on",
    "numuai": "uai",
    "coordxet": "coord_x",
    "coordyet": "coord_y",
    "sourcecoordet": "coord_source",
    "datemajcoord": "coord_updated_on",
}
EJ_FIELDS = {
    **ADDRESS,
    "statutjuridique": "legal_status",
    "libstatutjuridique": "legal_status_label",
    "siren": "siren",
    "codeape": "ape_code",
    "datecrea": "created_on",
}


@dataclass
class ImportReport:
    snapshot_date: dt.date
    added: int = 0
    changed: int = 0
    closed: int = 0
    unchanged: int = 0
    ej_added: int = 0
    ej_changed: int = 0
    already_imported: bool = False

    def summary(self) -> str:
        if self.already_imported:
            return f"Extraction du {self.snapshot_date:%d/%m/%Y} déjà importée : rien n'a changé."
        return (
            f"Extraction du {self.snapshot_date:%d/%m/%Y} : {self.added} établissement(s) ajouté(s), "
            f"{self.changed} modifié(s), {self.closed} fermé(s), {self.unchanged} inchangé(s) ; "
            f"{self.ej_added} entité(s) juridique(s) ajoutée(s), {self.ej_changed} modifiée(s)."
        )


def _category_sectors() -> dict[str, str]:
    table = default_tree().get("finess/sectors.category_sectors").values[-1]
    return {row["category"]: row["sector"] for row in table.value}


def _regions(extract: Extract) -> list[str]:
    """The region of each record, from its department (looked up once per distinct code)."""
    geo = geography()
    codes = extract.columns["departement"]
    regions: dict[str, str | None] = {}
    for code in set(codes):
        department = geo.normalize_department(code)
        if department:
            regions[code] = geo.departments[department].region
        elif code.upper() in geo.finess_only:
            regions[code] = ""
        else:
            regions[code] = None
    if None in regions.values():
        i = next(i for i, code in enumerate(codes) if regions[code] is None)
        raise ExtractError(
            extract.name,
            extract.line_numbers[i],
            f"département inconnu « {codes[i]} »",
            "departement",
            extract.numbers[i],
        )
    return list(map(regions.__getitem__, codes))


def _check_ej_coverage(et: Extract, ej: Extract) -> None:
    numbers = et.all_ej_numbers
    missing = set(numbers) - set(ej.all_numbers)
    if missing:
        i = next(i for i, number in enumerate(numbers) if number in missing)
        raise ExtractError(
            et.name,
            et.all_line_numbers[i],
            f"entité juridique {numbers[i]} absente de l'extraction EJ {ej.name}",
            "nofinessej",
            et.all_numbers[i],
        )


def _context() -> bytes:
    """What the rows derive from besides their lines (sector table, geography): a change re-reads every line."""
    geo = geography()
    tables = (
        "registry-import-1",
        sorted(_category_sectors().items()),
        sorted((code, department.region) for code, department in geo.departments.items()),
        sorted(geo.finess_codes.items()),
        sorted(geo.finess_only),
    )
    return repr(tables).encode()


def _model_columns(extract: Extract, mapping: dict[str, str], model) -> dict[str, list]:
    """Extract columns renamed to the model's fields; an absent value is NULL where the field allows it, else ''."""
    n = len(extract)
    out = {}
    for source, target in mapping.items():
        values = extract.columns.get(source) or [None] * n
        if model._meta.get_field(target).null:
            if "" in values:
                values = [None if value == "" else value for value in values]
        elif None in values:
            values = ["" if value is None else value for value in values]
        out[target] = values
    return out


def _digest(et_data: bytes, ej_data: bytes | None) -> str:
    digest = hashlib.sha256(et_data)  # the same as hashing et_data + ej_data, without copying them
    if ej_data:
        digest.update(ej_data)
    return digest.hexdigest()


def import_extracts(
    et_name: str,
    et_data: bytes,
    ej_name: str | None = None,
    ej_data: bytes | None = None,
    *,
    actor: str = "esms",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Imports an establishments extract (and its legal entities extract): all of it, or nothing.

    Establishments are upserted by FINESS ET; those absent from the extract are closed as of its date;
    re-importing the same file changes nothing, and is recognised by its checksum before any reading
    (DECISION D-FINESS-FAST-IMPORT (docs/decisions.md))."""
    progress = progress or (lambda n: None)
    digest = _digest(et_data, ej_data)
    done = Snapshot.objects.filter(kind=Snapshot.Kind.ET, digest=digest).order_by("id").first()
    if done is not None:
        return ImportReport(done.snapshot_date, already_imported=True)
    with transaction.atomic():
        _lock_registry()
        if Snapshot.objects.filter(kind=Snapshot.Kind.ET, digest=digest).exists():
            return ImportReport(et_snapshot_date(digest), already_imported=True)  # imported meanwhile
        return _import(et_name, et_data, ej_name, ej_data, digest, actor, progress)


def et_snapshot_date(digest: str) -> dt.date:
    return Snapshot.objects.filter(kind=Snapshot.Kind.ET, digest=digest).order_by("id").first().snapshot_date


def _lock_registry() -> None:
    """One import at a time (PostgreSQL; SQLite writes one at a time anyway): the lines skipped as unchanged are
    compared with the registry as the import finds it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REGISTRY_LOCK])


def _import(
    et_name: str,
    et_data: bytes,
    ej_name: str | None,
    ej_data: bytes | None,
    digest: str,
    actor: str,
    progress: Callable[[int], None],
) -> ImportReport:
    context = _context()
    open_rows = list(Establishment.objects.filter(closed_snapshot=None).values_list("finess_et", "id", "source_digest"))
    known_et = {finess: digest for finess, _, digest in open_rows if digest}
    et = parse_et(et_name, et_data, progress, known_et, context)
    ej = None
    if ej_data is not None:
        known_ej = dict(
            LegalEntity.objects.filter(from_ej_extract=True)
            .exclude(source_digest="")
            .values_list("finess_ej", "source_digest")
        )
        ej = parse_ej(ej_name, ej_data, progress, known_ej, context)
    if ej is not None:
        _check_ej_coverage(et, ej)
    ej_columns = None
    if ej is not None:
        ej_columns = {
            "finess_ej": ej.numbers,
            **_model_columns(ej, EJ_FIELDS, LegalEntity),
            "region": _regions(ej),
            "source_digest": ej.columns["source_digest"],
        }
    sectors = _category_sectors()
    et_columns = {
        "finess_et": et.numbers,
        "finess_ej": et.columns["nofinessej"],
        **_model_columns(et, ET_FIELDS, Establishment),
        "region": _regions(et),
        "source_digest": et.columns["source_digest"],
    }
    et_columns["sector"] = [sectors.get(category, "") for category in et_columns["category"]]
    in_file = set(et.all_numbers)
    gone = [pk for finess, pk, _ in open_rows if finess not in in_file]
    report = ImportReport(et.snapshot_date)
    snapshot = Snapshot.objects.create(
        kind=Snapshot.Kind.ET,
        snapshot_date=et.snapshot_date,
        source_name=et_name,
        digest=digest,
        encoding=et.encoding,
        imported_by=actor,
    )
    ej_snapshot = None
    if ej is not None:
        ej_snapshot = Snapshot.objects.create(
            kind=Snapshot.Kind.EJ,
            snapshot_date=ej.snapshot_date,
            source_name=ej_name or "",
            digest=digest,
            encoding=ej.encoding,
            imported_by=actor,
        )
    counts = upsert_registry(et_columns, ej_columns, snapshot.id, ej_snapshot.id if ej_snapshot else None, gone)
    counts["unchanged"] += et.skipped
    progress(counts["added"] + counts["changed"])
    for name, value in counts.items():
        setattr(report, name, value)
    for field in ("added", "changed", "closed", "unchanged"):
        setattr(snapshot, field, getattr(report, field))
    snapshot.save()
    record(
        actor,
        "import_finess",
        "Snapshot",
        str(snapshot.id),
        after={
            "fichier": et_name,
            "fichier_ej": ej_name,
            "date": et.snapshot_date.isoformat(),
            "ajoutés": report.added,
            "modifiés": report.changed,
            "fermés": report.closed,
            "ej_ajoutées": report.ej_added,
            "ej_modifiées": report.ej_changed,
        },
    )
    return report


class SectorError(ValueError):
    pass


def override_sector(establishment: Establishment, sector: str, reason: str, actor: str) -> Establishment:
    """Corrects the sector the category table gives, with a reason; an empty sector restores the table's."""
    known = {row["code"] for row in default_tree().get("sectors.sectors").values[-1].value}
    if sector and sector not in known:
        raise SectorError(f"secteur inconnu « {sector} » (connus : {', '.join(sorted(known))})")
    if not reason.strip():
        raise SectorError("un motif est obligatoire pour corriger le secteur d'un établissement")
    with transaction.atomic():
        locked = Establishment.objects.select_for_update().get(pk=establishment.pk)
        before = {"secteur": locked.effective_sector, "correction": locked.sector_override}
        locked.sector_override = sector
        locked.sector_override_reason = reason.strip()
        locked.save(update_fields=["sector_override", "sector_override_reason"])
        record(
            actor,
            "override_sector",
            "Establishment",
            locked.finess_et,
            before=before,
            after={"secteur": locked.effective_sector, "correction": sector},
            reason=reason.strip(),
        )
    return locked


def og_essms_count(finess_ej: str, on: dt.date) -> int:
    """ESSMS of an OG in the registry as it stood on `on` (the SONS barème and small-OG thresholds read this)."""
    return Establishment.objects.open_on(on).essms().filter(legal_entity__finess_ej=finess_ej).count()


def registry_snapshot(on: dt.date | None) -> Snapshot | None:
    """The establishments extract the registry reads on `on`: the latest imported on or before it."""
    snapshots = Snapshot.objects.filter(kind=Snapshot.Kind.ET)
    if on is not None:
        earlier = snapshots.filter(snapshot_date__lte=on).order_by("-snapshot_date", "-id").first()
        if earlier:
            return earlier
    return snapshots.order_by("-snapshot_date", "-id").first()


def complete_from_registry(data: dict, on: dt.date | None = None) -> tuple[dict, list[Finding]]:
    """Fills what the registry knows of ESSMS named by their FINESS ET alone: department, sector, category,
    FINESS EJ and the OG's number of ESSMS as of the extract in force on `on`. What the input gives wins."""
    essms = data.get("essms") if isinstance(data, dict) else None
    if not isinstance(essms, list):
        return data, []
    wanted = {str(e["finess_et"]).strip().upper() for e in essms if isinstance(e, dict) and e.get("finess_et")}
    snapshot = registry_snapshot(on)
    if not wanted or snapshot is None:
        return data, []
    found = {
        e.finess_et: e
        for e in Establishment.objects.open_on(snapshot.snapshot_date)
        .filter(finess_et__in=wanted)
        .select_related("legal_entity")
    }
    ogs = {e.legal_entity.finess_ej for e in found.values()}
    counts = dict(
        Establishment.objects.open_on(snapshot.snapshot_date)
        .essms()
        .filter(legal_entity__finess_ej__in=ogs)
        .values_list("legal_entity__finess_ej")
        .annotate(n=models.Count("id"))
    )
    source = f"Répertoire FINESS, extraction du {snapshot.snapshot_date:%d/%m/%Y} ({snapshot.source_name})"
    completed, findings, out = [], [], []
    for entry in essms:
        number = str(entry.get("finess_et", "")).strip().upper() if isinstance(entry, dict) else ""
        known = found.get(number)
        if known is None:
            out.append(entry)
            if number:
                findings.append(
                    Finding(
                        "E-FINESS",
                        Verdict.A_APPRECIER,
                        f"Le FINESS ET {number} n'est pas dans le répertoire à la date de l'extraction : l'ARS vérifie "
                        "qu'il s'agit bien d'un établissement ouvert.",
                        source,
                        number,
                    )
                )
            continue
        filled = {
            "department": known.department,
            "sector": known.effective_sector or None,
            "category": known.category,
            "finess_ej": known.legal_entity.finess_ej,
            "og_essms_count": counts.get(known.legal_entity.finess_ej) or None,
            "name": known.name,
        }
        added = {k: v for k, v in filled.items() if v is not None and entry.get(k) in (None, "")}
        if added:
            completed.append(number)
        out.append({**entry, **added})
    if completed:
        findings.append(
            Finding(
                "E-FINESS",
                Verdict.OK,
                f"{len(completed)} ESSMS complété(s) depuis le répertoire : département, secteur, catégorie, OG et "
                "nombre d'ESSMS de l'OG à la date de l'extraction.",
                source,
            )
        )
    return {**data, "essms": out}, findings
