"""Benchmark P3: importing a national-scale synthetic FINESS extract into PostgreSQL, beside PostgreSQL's own COPY
of the same rows into the same indexed tables, in one run. Then re-importing the identical files (goal ≤ 0.1 s) and
files where 1 % of the establishments changed (goal ≤ 1 s). Prints the times and the ratio.

    make bench        (starts the local PostgreSQL server with scripts/postgres.sh)
    BENCH_DB=esms_bench_x .venv/bin/python benchmarks/finess_import.py   (another scratch database)
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg

BENCH_DB = os.environ.get("BENCH_DB", "esms_bench")
RATIO_GOAL = 3
SAME_GOAL_S = 0.1
CHANGE_GOAL_S = 1.0


def changed_one_percent(et: bytes) -> bytes:
    """The same extract where one establishment in a hundred was renamed."""
    lines = et.decode("utf-8").split("\n")
    seen = 0
    for i, line in enumerate(lines):
        if line.startswith("structureet;"):
            seen += 1
            if seen % 100 == 0:
                cells = line.split(";")
                cells[3] = f"{cells[3]} RENOMME"
                lines[i] = ";".join(cells)
    return "\n".join(lines).encode("utf-8")


def copy_baseline(url: str, tables: list[str]) -> float:
    """Dumps the registry tables, empties them and times PostgreSQL's COPY of the same rows back into them, with
    their indexes and constraints."""
    dumps = {}
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        for table in tables:
            buffer = io.BytesIO()
            with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                for chunk in copy:
                    buffer.write(chunk)
            dumps[table] = buffer.getvalue()
        cursor.execute(f"TRUNCATE {', '.join(reversed(tables))} CASCADE")
        connection.commit()
        started = time.perf_counter()
        for table in tables:
            with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(dumps[table])
        connection.commit()
        return time.perf_counter() - started


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("DATABASE_URL doit désigner le serveur PostgreSQL (voir scripts/postgres.sh)", file=sys.stderr)
        return 2
    server = urlparse(url)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    bench_url = server._replace(path=f"/{BENCH_DB}").geturl()
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from esms_numerique.registry.demo import generate
    from esms_numerique.registry.models import Establishment, LegalEntity
    from esms_numerique.registry.services import import_extracts

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        files = generate(Path(directory), "national")
        generated = time.perf_counter() - started
        et, ej = files.et.read_bytes(), files.ej.read_bytes()

    started = time.perf_counter()
    report = import_extracts(files.et.name, et, files.ej.name, ej, actor="benchmark")
    imported = time.perf_counter() - started
    assert report.added == Establishment.objects.count()

    started = time.perf_counter()
    again = import_extracts(files.et.name, et, files.ej.name, ej, actor="benchmark")
    same = time.perf_counter() - started
    assert again.already_imported

    changed_et = changed_one_percent(et)
    started = time.perf_counter()
    changed = import_extracts("modifiee.csv", changed_et, files.ej.name, ej, actor="benchmark")
    change = time.perf_counter() - started
    assert changed.changed == report.added // 100, changed.summary()

    connection.close()
    tables = [LegalEntity._meta.db_table, Establishment._meta.db_table]
    copied = copy_baseline(bench_url, tables)

    ratio = imported / copied
    ok = ratio <= RATIO_GOAL and same <= SAME_GOAL_S and change <= CHANGE_GOAL_S
    print(
        f"Extraction synthétique : {files.essms} ESSMS, {report.added} établissements, {files.ogs} OG "
        f"(générée en {generated:.1f} s)"
    )
    print(
        f"P3 Import FINESS national (lecture, contrôles, écriture, audit) : {imported:.2f} s ; COPY PostgreSQL des "
        f"mêmes lignes dans les mêmes tables indexées : {copied:.2f} s ; rapport {ratio:.1f} (objectif ≤ {RATIO_GOAL})"
    )
    print(f"P3 Réimport du même fichier : {same * 1000:.0f} ms (objectif ≤ {SAME_GOAL_S * 1000:.0f} ms)")
    print(
        f"P3 Import d'une extraction modifiée à 1 % ({changed.changed} établissements) : {change:.2f} s "
        f"(objectif ≤ {CHANGE_GOAL_S:.0f} s)"
    )
    print("Objectifs P3 : " + ("tenus" if ok else "NON TENUS"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
