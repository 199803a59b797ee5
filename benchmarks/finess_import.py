"""Benchmark: importing a national-scale synthetic FINESS extract into PostgreSQL, beside PostgreSQL's own
COPY of the same rows into a bare table, in one run. Prints both times and their ratio.

    make bench        (starts the local PostgreSQL server with scripts/postgres.sh)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg

BENCH_DB = "esms_bench"


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

    from esms_numerique.registry.demo import generate
    from esms_numerique.registry.models import Establishment
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

        rows = [line for line in et.decode("utf-8").splitlines()[1:] if line.startswith("structureet;")]
        columns = ", ".join(f"c{i} text" for i in range(32))
        with psycopg.connect(bench_url) as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE copy_baseline ({columns})")
            started = time.perf_counter()
            with cursor.copy("COPY copy_baseline FROM STDIN") as copy:
                for line in rows:
                    copy.write_row(line.split(";"))
            connection.commit()
            copied = time.perf_counter() - started
            cursor.execute("SELECT count(*) FROM copy_baseline")
            assert cursor.fetchone()[0] == len(rows)

    print(
        f"Extraction synthétique : {files.essms} ESSMS, {report.added} établissements, {files.ogs} OG "
        f"(générée en {generated:.1f} s)"
    )
    print(f"Import plateforme (lecture, contrôles, upsert, audit) : {imported:.1f} s")
    print(f"COPY PostgreSQL des mêmes lignes, sans contrôle : {copied:.2f} s")
    print(f"Rapport import / COPY : {imported / copied:.1f}")
    print("Objectif « bien moins d'une minute » : " + ("tenu" if imported < 60 else "NON TENU"))
    return 0 if imported < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
