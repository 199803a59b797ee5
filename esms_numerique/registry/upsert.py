"""Writes a checked extract into the registry, set-based: the rows go to a temporary staging table (PostgreSQL
`COPY`, or one `executemany` on SQLite), then a few statements compare and write them all at once — `UPDATE … FROM`
for what changed, `INSERT … SELECT` for what is new, one `UPDATE` for what is gone
(DECISION D-FINESS-FAST-IMPORT (docs/decisions.md)). The caller holds the transaction: all or nothing."""

from __future__ import annotations

from django.db import connection, models

from .models import Establishment, LegalEntity, Snapshot

STAGING_ET = "registry_staging_et"
STAGING_EJ = "registry_staging_ej"
# From this many rows written by one import, the tables are analysed before anything reads them.
ANALYZE_FROM_ROWS = 1000
# Columns of the registry the import sets itself, never from a staging column of the same name.
ET_OWN = {"legal_entity", "first_snapshot", "closed_snapshot", "sector_override", "sector_override_reason"}
EJ_OWN = {"snapshot", "from_ej_extract"}


def _fields(model, names: list[str]) -> list[models.Field]:
    return [model._meta.get_field(name) for name in names]


def _distinct(left: str, right: str) -> str:
    operator = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return f"{left} {operator} {right}"


def _copy_text(values: list, field: models.Field) -> list[str]:
    """A column in PostgreSQL's COPY text format."""
    if isinstance(field, models.DateField):
        return [r"\N" if v is None else v.isoformat() for v in values]
    if isinstance(field, models.FloatField):
        return [r"\N" if v is None else repr(v) for v in values]
    if isinstance(field, models.BooleanField):
        return ["t" if v else "f" for v in values]
    if isinstance(field, models.IntegerField):
        return [str(v) for v in values]
    text = "\x00".join(values)
    if "\\" in text or "\t" in text or "\r" in text or "\n" in text:
        return [v.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n") for v in values]
    return values


def _sqlite_value(values: list, field: models.Field) -> list:
    if isinstance(field, models.DateField):
        return [None if v is None else v.isoformat() for v in values]
    return values


def _stage(cursor, table: str, columns: dict[str, list], fields: list[models.Field], key: str) -> None:
    """A temporary table holding the rows, with their order (`line`) and an index on their FINESS."""
    definitions = ", ".join(f"{name} {field.db_type(connection)}" for name, field in zip(columns, fields, strict=True))
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMPORARY TABLE {table} (line integer, {definitions})")
    names = ", ".join(["line", *columns])
    n = len(next(iter(columns.values())))
    if connection.vendor == "postgresql":
        texts = [[str(i) for i in range(n)]]
        texts += [_copy_text(values, field) for values, field in zip(columns.values(), fields, strict=True)]
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            copy.write("".join(line + "\n" for line in map("\t".join, zip(*texts, strict=True))))
    else:
        values = [_sqlite_value(values, field) for values, field in zip(columns.values(), fields, strict=True)]
        placeholders = ", ".join(["%s"] * (len(columns) + 1))
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({placeholders})", list(zip(range(n), *values, strict=True))
        )
    cursor.execute(f"CREATE INDEX {table}_key ON {table} ({key})")
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {table} ({key})")


def _defaults(model, own: set[str], staged: set[str]) -> dict[str, object]:
    """Columns neither staged nor set by the import: their model default (blank text, NULL)."""
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.generated or field.name in own or field.name in staged:
            continue
        values[field.column] = field.get_default() if field.has_default() else (None if field.null else "")
    return values


def _upsert_legal_entities(cursor, ej_columns: dict[str, list] | None, ej_snapshot: int | None) -> tuple[int, int]:
    table = LegalEntity._meta.db_table
    added = changed = 0
    if ej_columns is not None:
        names = [n for n in ej_columns if n != "finess_ej"]
        _stage(cursor, STAGING_EJ, ej_columns, _fields(LegalEntity, list(ej_columns)), "finess_ej")
        differs = " OR ".join(
            [_distinct(f"e.{name}", f"s.{name}") for name in names if name != "source_digest"]
            + [_distinct("e.from_ej_extract", "%s")]
        )
        cursor.execute(
            f"UPDATE {table} AS e SET {', '.join(f'{n} = s.{n}' for n in names)}, from_ej_extract = %s, "
            f"snapshot_id = %s FROM {STAGING_EJ} AS s WHERE e.finess_ej = s.finess_ej AND ({differs})",
            [True, ej_snapshot, True],
        )
        changed = cursor.rowcount
        _refresh_digests(cursor, table, STAGING_EJ, "finess_ej")
        cursor.execute(
            f"INSERT INTO {table} (finess_ej, {', '.join(names)}, from_ej_extract, snapshot_id) "
            f"SELECT s.finess_ej, {', '.join(f's.{n}' for n in names)}, %s, %s FROM {STAGING_EJ} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS e WHERE e.finess_ej = s.finess_ej) ORDER BY s.line",
            [True, ej_snapshot],
        )
        added = cursor.rowcount
    # Entities known only by the number their establishments carry, completed by a later EJ extract.
    defaults = _defaults(LegalEntity, EJ_OWN, {"finess_ej"})
    cursor.execute(
        f"INSERT INTO {table} (finess_ej, {', '.join(defaults)}, from_ej_extract, snapshot_id) "
        f"SELECT s.finess_ej, {', '.join(['%s'] * len(defaults))}, %s, %s FROM {STAGING_ET} AS s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS e WHERE e.finess_ej = s.finess_ej) "
        "GROUP BY s.finess_ej ORDER BY MIN(s.line)",
        [*defaults.values(), False, ej_snapshot],
    )
    return added + cursor.rowcount, changed


def _refresh_digests(cursor, table: str, staging: str, key: str) -> None:
    """Rows equal to their new lines (a change of layout only) take the new lines' checksum, uncounted."""
    cursor.execute(
        f"UPDATE {table} AS e SET source_digest = s.source_digest FROM {staging} AS s "
        f"WHERE e.{key} = s.{key} AND {_distinct('e.source_digest', 's.source_digest')}"
    )


def _upsert_establishments(
    cursor, et_columns: dict[str, list], snapshot: int, n: int, gone: list[int]
) -> dict[str, int]:
    table, entities = Establishment._meta.db_table, LegalEntity._meta.db_table
    names = [n for n in et_columns if n not in ("finess_et", "finess_ej")]
    differs = " OR ".join(
        [_distinct(f"e.{name}", f"s.{name}") for name in names if name != "source_digest"]
        + [_distinct("e.legal_entity_id", "l.id"), "e.closed_snapshot_id IS NOT NULL"]
    )
    cursor.execute(
        f"UPDATE {table} AS e SET {', '.join(f'{n} = s.{n}' for n in names)}, legal_entity_id = l.id, "
        f"closed_snapshot_id = NULL FROM {STAGING_ET} AS s JOIN {entities} AS l ON l.finess_ej = s.finess_ej "
        f"WHERE e.finess_et = s.finess_et AND ({differs})"
    )
    changed = cursor.rowcount
    _refresh_digests(cursor, table, STAGING_ET, "finess_et")
    defaults = _defaults(Establishment, ET_OWN - {"sector_override", "sector_override_reason"}, {"finess_et", *names})
    cursor.execute(
        f"INSERT INTO {table} (finess_et, {', '.join(names)}, {', '.join(defaults)}, legal_entity_id, "
        f"first_snapshot_id, closed_snapshot_id) "
        f"SELECT s.finess_et, {', '.join(f's.{n}' for n in names)}, {', '.join(['%s'] * len(defaults))}, l.id, %s, "
        f"NULL FROM {STAGING_ET} AS s JOIN {entities} AS l ON l.finess_ej = s.finess_ej "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS e WHERE e.finess_et = s.finess_et) ORDER BY s.line",
        [*defaults.values(), snapshot],
    )
    added = cursor.rowcount
    for start in range(0, len(gone), 5000):  # establishments absent from the extract are closed as of its date
        chunk = gone[start : start + 5000]
        cursor.execute(
            f"UPDATE {table} SET closed_snapshot_id = %s WHERE id IN ({', '.join(['%s'] * len(chunk))})",
            [snapshot, *chunk],
        )
    closed = len(gone)
    return {"added": added, "changed": changed, "closed": closed, "unchanged": n - added - changed}


def upsert_registry(
    et_columns: dict[str, list],
    ej_columns: dict[str, list] | None,
    snapshot: int,
    ej_snapshot: int | None,
    gone: list[int],
) -> dict[str, int]:
    """Writes the establishments (and legal entities) of one extract; returns the counts of the import report.

    `et_columns`: finess_et, finess_ej, then Establishment fields; `ej_columns`: finess_ej, then LegalEntity
    fields — one list per column, one value per record, in file order (the records whose lines changed since the
    last import); `gone`: the open establishments absent from the extract, closed as of it."""
    et_fields = _fields(Establishment, ["finess_et"]) + [LegalEntity._meta.get_field("finess_ej")]
    et_fields += _fields(Establishment, list(et_columns)[2:])
    with connection.cursor() as cursor:
        _stage(cursor, STAGING_ET, et_columns, et_fields, "finess_et")
        cursor.execute(f"CREATE INDEX {STAGING_ET}_ej ON {STAGING_ET} (finess_ej)")
        ej_added, ej_changed = _upsert_legal_entities(cursor, ej_columns, ej_snapshot)
        counts = _upsert_establishments(cursor, et_columns, snapshot, len(et_columns["finess_et"]), gone)
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING_ET}")
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING_EJ}")
        written = counts["added"] + counts["changed"] + counts["closed"] + ej_added + ej_changed
        if connection.vendor == "postgresql" and written >= ANALYZE_FROM_ROWS:
            # Thousands of rows written at once: the planner's statistics before the next query reads them (a
            # national import into tables it last saw nearly empty otherwise gets nested loops over 36 500 rows).
            cursor.execute(
                f"ANALYZE {Establishment._meta.db_table}, {LegalEntity._meta.db_table}, {Snapshot._meta.db_table}"
            )
    return {**counts, "ej_added": ej_added, "ej_changed": ej_changed}
