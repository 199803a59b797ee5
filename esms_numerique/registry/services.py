"""The only place that changes the registry: imports of FINESS extracts and sector corrections
(docs/decisions.md, D-REGISTRY-SNAPSHOTS, D-SECTOR-MAP)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models, transaction

from esms_numerique.audit.services import record
from esms_numerique.rules.geography import geography
from esms_numerique.rules.parameters import default_tree
from esms_numerique.rules.results import Finding, Verdict

from .extract import Extract, ExtractError, parse_ej, parse_et
from .models import Establishment, LegalEntity, Snapshot

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
NULLABLE = {"updated_on", "opened_on", "authorized_on", "coord_x", "coord_y", "coord_updated_on", "created_on"}
ET_COMPARED = [*ET_FIELDS.values(), "region", "sector", "legal_entity_id", "closed_snapshot_id"]
EJ_COMPARED = [*EJ_FIELDS.values(), "region", "from_ej_extract"]
BATCH = 2000


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


def _region(extract: Extract, finess: str, row: dict) -> str:
    geo = geography()
    code = row["departement"]
    department = geo.normalize_department(code)
    if department:
        return geo.departments[department].region
    if code.upper() in geo.finess_only:
        return ""
    raise ExtractError(extract.name, extract.lines[finess], f"département inconnu « {code} »", "departement", finess)


def _values(row: dict, mapping: dict[str, str]) -> dict:
    values = {target: row.get(source) for source, target in mapping.items()}
    for target, value in values.items():
        if value in ("", None):
            values[target] = None if target in NULLABLE else ""
    return values


def _check_ej_coverage(et: Extract, ej: Extract) -> None:
    for finess, row in et.records.items():
        if row["nofinessej"] not in ej.records:
            raise ExtractError(
                et.name,
                et.lines[finess],
                f"entité juridique {row['nofinessej']} absente de l'extraction EJ {ej.name}",
                "nofinessej",
                finess,
            )


def _upsert_legal_entities(
    et: Extract, ej: Extract | None, snapshot: Snapshot | None, report: ImportReport
) -> dict[str, int]:
    existing = {row[0]: row for row in LegalEntity.objects.values_list("finess_ej", "id", *EJ_COMPARED)}
    wanted: dict[str, dict] = {}
    if ej is not None:
        for finess, row in ej.records.items():
            wanted[finess] = {**_values(row, EJ_FIELDS), "region": _region(ej, finess, row), "from_ej_extract": True}
    for row in et.records.values():
        number = row["nofinessej"]
        if number not in wanted and number not in existing:
            wanted[number] = {"from_ej_extract": False}  # known only by its number, completed by an EJ extract
    new, changed = [], []
    for finess, values in wanted.items():
        if finess not in existing:
            new.append(LegalEntity(finess_ej=finess, snapshot=snapshot, **values))
            continue
        if not values["from_ej_extract"]:
            continue
        current = dict(zip(EJ_COMPARED, existing[finess][2:], strict=True))
        if any(current[key] != value for key, value in values.items()):
            changed.append(LegalEntity(id=existing[finess][1], snapshot=snapshot, **values))
    LegalEntity.objects.bulk_create(new, batch_size=BATCH)
    if changed:
        LegalEntity.objects.bulk_update(changed, [*EJ_COMPARED, "snapshot"], batch_size=500)
    report.ej_added, report.ej_changed = len(new), len(changed)
    return dict(LegalEntity.objects.values_list("finess_ej", "id"))


def _upsert_establishments(
    et: Extract, snapshot: Snapshot, ej_ids: dict[str, int], report: ImportReport, progress: Callable[[int], None]
) -> None:
    sectors = _category_sectors()
    existing = {row[0]: row for row in Establishment.objects.values_list("finess_et", "id", *ET_COMPARED)}
    new, changed = [], []
    for finess, row in et.records.items():
        values = _values(row, ET_FIELDS)
        values["region"] = _region(et, finess, row)
        values["sector"] = sectors.get(values["category"], "")
        values["legal_entity_id"] = ej_ids[row["nofinessej"]]
        values["closed_snapshot_id"] = None
        if finess not in existing:
            new.append(Establishment(finess_et=finess, first_snapshot=snapshot, **values))
        else:
            current = dict(zip(ET_COMPARED, existing[finess][2:], strict=True))
            if current != values:
                changed.append(Establishment(id=existing[finess][1], **values))
            else:
                report.unchanged += 1
    for start in range(0, len(new), BATCH):
        Establishment.objects.bulk_create(new[start : start + BATCH])
        progress(len(new[start : start + BATCH]))
    for start in range(0, len(changed), 500):
        Establishment.objects.bulk_update(changed[start : start + 500], ET_COMPARED)
        progress(len(changed[start : start + 500]))
    gone = [row[1] for finess, row in existing.items() if finess not in et.records and row[-1] is None]
    for start in range(0, len(gone), BATCH):
        Establishment.objects.filter(id__in=gone[start : start + BATCH]).update(closed_snapshot=snapshot)
    report.added, report.changed, report.closed = len(new), len(changed), len(gone)


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
    re-importing the same file changes nothing."""
    progress = progress or (lambda n: None)
    et = parse_et(et_name, et_data, progress)
    ej = parse_ej(ej_name, ej_data, progress) if ej_data is not None else None
    if ej is not None:
        _check_ej_coverage(et, ej)
    digest = hashlib.sha256(et_data + (ej_data or b"")).hexdigest()
    report = ImportReport(et.snapshot_date)
    with transaction.atomic():
        if Snapshot.objects.filter(kind=Snapshot.Kind.ET, digest=digest).exists():
            report.already_imported = True
            return report
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
        ej_ids = _upsert_legal_entities(et, ej, ej_snapshot, report)
        _upsert_establishments(et, snapshot, ej_ids, report, progress)
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
