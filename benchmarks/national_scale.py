"""Benchmark at national scale (issue 16), each figure beside a baseline measured in the same run:

- L  `esms demo load --scale national` (36 500 ESSMS, 1 400 dossiers, 25 000 measurements) into a PostgreSQL
     database of its own, against the 2-minute goal;
- P1 the rules core on the national portfolio (every dossier's grappe, completed from the registry) against the time
     to load its inputs (JSON decoding and checking), and `esms simulate` start-up against a bare `python -c pass`;
- P4 the pages of an ARS instructor and of CNSA/DNS, in-process through Django's test client: median time against
     `GET /api/health`, SQL queries, peak Python memory of one request (tracemalloc); then served by gunicorn (4
     workers, as in production) on loopback to 20 clients at once: p95 of each page, peak memory of a worker.

    make bench        (starts the local PostgreSQL server with scripts/postgres.sh)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlparse

import psycopg

BENCH_DB = os.environ.get("BENCH_DB", "esms_bench_national")
LOAD_GOAL_S = 120
PAGE_GOAL = 10  # × /api/health (issue 16, P4)
P1_GOAL = 3  # × loading the inputs
P1_ABSOLUTE_GOAL_S = 2.0  # issue 13, P1: the national portfolio through the rules core on this 2-core machine
STARTUP_GOAL_S = 0.3
CLIENTS = 20
WORKERS = 4
P95_GOAL_S = 1.5
WORKER_MEMORY_GOAL_MB = 500
ROOT = Path(__file__).resolve().parent.parent


def fresh_database(url: str) -> str:
    server = urlparse(url)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    return server._replace(path=f"/{BENCH_DB}").geturl()


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line)
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        server = connection.execute("SHOW server_version").fetchone()[0]
    return (
        f"{os.cpu_count()} cœurs {cpu}, {int(memory) / 1024**2:.0f} Go, Python {platform.python_version()}, "
        f"PostgreSQL {server.split()[0]} sur la même machine"
    )


# ---------------------------------------------------------------------------------------------------------------


def load(directory: Path) -> float:
    from esms_numerique import demo_national

    started = time.perf_counter()
    files = demo_national.national_registry(directory)
    print(demo_national.import_registry(files))
    for line in demo_national.load_dossiers():
        print(line)
    return time.perf_counter() - started


def portfolio() -> list[tuple[str, str, list]]:
    """Every dossier's grappe as the platform runs it (filing date, pieces), completed from the registry: the JSON
    text of the simulator's input, its date and the registry's findings."""
    from esms_numerique.dossiers.models import Dossier, Piece
    from esms_numerique.registry.services import complete_from_registry

    pieces: dict[int, set[str]] = {}
    for dossier_id, code in Piece.objects.values_list("dossier_id", "code"):
        pieces.setdefault(dossier_id, set()).add(code)
    inputs = []
    for dossier in Dossier.objects.order_by("id").only("grappe", "filed_at", "created_at"):
        on = (dossier.filed_at or dossier.created_at).date()
        data = {**dossier.grappe, "filed_on": on.isoformat()}
        if dossier.pk in pieces:
            data["pieces"] = sorted(pieces[dossier.pk])
        completed, findings = complete_from_registry(data, on)
        inputs.append((json.dumps(completed, ensure_ascii=False), on.isoformat(), findings))
    return inputs


def rules_core(inputs) -> dict[str, float]:
    """P1: the same inputs loaded (decoded and checked) three times, then run through the rules three times; the best
    of each."""
    import datetime as dt

    from esms_numerique.rules.errors import parse
    from esms_numerique.rules.inputs import SimulationInput
    from esms_numerique.rules.simulator import simulate

    loads, runs = [], []
    for _ in range(3):
        started = time.perf_counter()
        parsed = [(parse(SimulationInput, json.loads(text)), on, findings) for text, on, findings in inputs]
        loads.append(time.perf_counter() - started)
    days = {on: dt.date.fromisoformat(on) for _, on, _ in inputs}
    for _ in range(3):
        started = time.perf_counter()
        results = [simulate(inp, registry_findings=findings, today=days[on]).as_dict() for inp, on, findings in parsed]
        runs.append(time.perf_counter() - started)
    assert len(results) == len(inputs)
    return {"load": min(loads), "rules": min(runs), "count": len(inputs)}


def startup(inputs) -> dict[str, float]:
    """`esms simulate` on the largest grappe of the portfolio, against the interpreter's own start."""
    largest = max(inputs, key=lambda item: len(item[0]))[0]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as stream:
        stream.write(largest)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    def median(command: list[str]) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    esms = str(Path(sys.executable).parent / "esms")
    found = {"python": median([sys.executable, "-c", "pass"]), "simulate": median([esms, "simulate", stream.name])}
    os.unlink(stream.name)
    return found


# ---------------------------------------------------------------------------------------------------------------


def timed(client, url: str, budget_s: float = 20.0, most: int = 7) -> tuple[float, int]:
    """Median of up to `most` requests (fewer for a slow page, at least 3), after one that warms the caches."""
    started = time.perf_counter()
    response = client.get(url)
    first = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(max(3, min(most, int(budget_s / max(first, 1e-3))))):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(response.content)


def measured(client, url: str) -> tuple[int, float]:
    """SQL queries and peak Python memory of one request."""
    from django.db import connection

    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        client.get(url)
    tracemalloc.start()
    client.get(url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(queries), peak / 1024**2


def page_plan() -> list[dict]:
    """Who reads which pages: the ARS instructor of the region with the busiest April committee, CNSA/DNS, the porteur
    with the most dossiers and the GRADeS of the same region; each its home, lists, follow-up, committees, the most
    measured dossier in deployment it sees and registry searches."""
    from django.contrib.auth.models import User
    from django.db.models import Count

    from esms_numerique.dossiers.enums import State
    from esms_numerique.dossiers.models import Committee, Dossier

    waiting = Dossier.objects.filter(desk="regional", state__in=[State.PRESENTE_COMITE, State.EN_INSTRUCTION])
    region = max(waiting.values("pivot_region").annotate(n=Count("id")), key=lambda r: r["n"])["pivot_region"]
    deploying = Dossier.objects.filter(state=State.EN_DEPLOIEMENT).annotate(n=Count("measurements")).order_by("-n")
    plan = []
    for who, username, scope, dossiers in (
        (f"ARS {region}", f"instructeur-{region}", region, deploying.filter(pivot_region=region, desk="regional")),
        ("CNSA/DNS", "cnsa", "", deploying.filter(desk="national")),
    ):
        committee = Committee.objects.get(region=scope, label__startswith="Comité d'avril")
        dossier = dossiers.first()
        urls = {
            "/": "/",
            "/dossiers/": "/dossiers/",
            "/suivi/": "/suivi/",
            "/comites/": "/comites/",
            "/comites/<pk>/": f"/comites/{committee.pk}/",
            "/selection/couverture/": "/selection/couverture/",
            "/dossiers/<référence>/": f"/dossiers/{dossier.reference}/",
            "/repertoire/?q=<nom>": "/repertoire/?q=roseraie",
            "/repertoire/?q=<FINESS>": f"/repertoire/?q={dossier.grappe['essms'][0]['finess_et']}",
        }
        plan.append({"who": who, "user": User.objects.get(username=username), "urls": urls})
    busiest = (
        Dossier.objects.exclude(state=State.BROUILLON)
        .values("porteur")
        .annotate(n=Count("id"))
        .order_by("-n", "porteur")
        .first()
    )
    porteur = User.objects.filter(profile__legal_entity=busiest["porteur"]).order_by("pk").first()
    own = Dossier.objects.filter(porteur=busiest["porteur"]).annotate(n=Count("measurements")).order_by("-n", "pk")
    plan.append(
        {
            "who": "porteur",
            "user": porteur,
            "urls": {
                "/": "/",
                "/dossiers/": "/dossiers/",
                "/dossiers/<référence>/": f"/dossiers/{own.first().reference}/",
                "/simulateur/": "/simulateur/",
                "/sons/commandes/": "/sons/commandes/",
            },
        }
    )
    plan.append(
        {
            "who": f"GRADeS {region}",
            "user": User.objects.get(username=f"grades-{region}"),
            "urls": {"/": "/", "/suivi/": "/suivi/"},
        }
    )
    return plan


def pages(plan: list[dict]) -> list[dict]:
    """P4 at one client, in-process."""
    from django.test import Client

    rows = []
    for reader in plan:
        client = Client(HTTP_HOST="localhost")
        client.force_login(reader["user"])
        timed(client, "/api/health")
        floor, _ = timed(client, "/api/health", most=31)
        for label, url in reader["urls"].items():
            median, size = timed(client, url)
            queries, peak = measured(client, url)
            rows.append(
                {
                    "who": reader["who"],
                    "page": label,
                    "median_ms": median * 1000,
                    "floor_ms": floor * 1000,
                    "ratio": median / floor,
                    "queries": queries,
                    "peak_mb": peak,
                    "kb": size / 1024,
                }
            )
            print(
                f"P4 {reader['who']:9s} {label:24s} médiane {median * 1000:8.1f} ms = {median / floor:6.1f} × "
                f"/api/health ({floor * 1000:.1f} ms) ; {queries:3d} requêtes SQL ; pic mémoire {peak:7.1f} Mo ; "
                f"{size / 1024:.0f} Ko",
                flush=True,
            )
    return rows


def dossier_pages_made_again(plan: list[dict]) -> None:
    """The dossier's page made again at each request, as its first reader after a change of the dossier gets it: its
    kept content dropped before each (DECISION D-DOSSIER-PAGE-CACHE). Shown beside P4, whose pages are read as their
    readers read them, again and again."""
    from django.test import Client

    from esms_numerique import caching

    for reader in plan:
        url = reader["urls"].get("/dossiers/<référence>/")
        if url is None:
            continue
        client = Client(HTTP_HOST="localhost")
        client.force_login(reader["user"])
        floor, _ = timed(client, "/api/health", most=31)
        times = []
        for _ in range(7):
            caching.dossier_pages().clear()
            started = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(
            f"P4 {reader['who']:9s} {'/dossiers/<référence>/':24s} refaite : médiane {median * 1000:6.1f} ms = "
            f"{median / floor:5.1f} × /api/health (première lecture après un changement du dossier)",
            flush=True,
        )


def _peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) / 1024


def _server(port: int) -> tuple[subprocess.Popen, str]:
    """gunicorn with 4 workers as in production (README), when installed (`make bench` installs it); else Django's
    threaded development server."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if gunicorn.exists():
        command = [str(gunicorn), "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)]
        command += ["--timeout", "600", "--log-level", "error"]
        kind = f"gunicorn, {WORKERS} workers"
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"]
        kind = "serveur de développement de Django, un processus"
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        # Persistent connections, as config.settings.prod sets them.
        env={**os.environ, "DATABASE_CONN_MAX_AGE": "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, kind


def _workers(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    found = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    return found or [server.pid]


def concurrent(plan: list[dict], clients: int = CLIENTS) -> dict:
    """P4 under load: the site served on loopback (settings of the tests), `clients` clients at once, each reading
    every page of the plan once in its own order; the p95 of each page and the peak memory (VmHWM) of the largest
    worker."""
    import random
    import socket
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from django.test import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    requests = []
    for reader in plan:
        client = Client()
        client.force_login(reader["user"])
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        requests += [(f"{label} ({reader['who']})", url, cookie) for label, url in reader["urls"].items()]
    server, kind = _server(port)

    def get(url: str, cookie: str = "") -> float:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{url}", headers={"Cookie": cookie})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
            # A lost session would measure the sign-in page instead.
            assert response.status == 200 and response.geturl().endswith(url), (url, response.geturl())
        return time.perf_counter() - started

    try:
        for _ in range(100):
            try:
                get("/api/health")
                break
            except OSError:
                time.sleep(0.2)
        for _, url, cookie in requests:  # warm the caches once
            get(url, cookie)

        def one_client(seed: int) -> list[tuple[str, float]]:
            order = list(requests)
            random.Random(seed).shuffle(order)
            return [(label, get(url, cookie)) for label, url, cookie in order]

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = [item for found in pool.map(one_client, range(clients)) for item in found]
        elapsed = time.perf_counter() - started
        peak_mb = max(_peak_mb(pid) for pid in _workers(server))
    finally:
        server.terminate()
        server.wait(timeout=30)
    by_page: dict[str, list[float]] = {}
    for label, seconds in results:
        by_page.setdefault(label, []).append(seconds)
    every = sorted(seconds for _, seconds in results)
    p95 = {label: sorted(times)[int(0.95 * (len(times) - 1))] for label, times in by_page.items()}
    return {
        "p95": p95,
        "all_p95": every[int(0.95 * (len(every) - 1))],
        "requests": len(results),
        "elapsed": elapsed,
        "peak_mb": peak_mb,
        "server": kind,
    }


def main() -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        print("DATABASE_URL doit désigner le serveur PostgreSQL (voir scripts/postgres.sh)", file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = fresh_database(url)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("ESMS_TODAY", "2024-03-11")  # the demo's date, during the 2024 campaign
    sys.path.insert(0, str(ROOT))
    print(f"Machine : {machine()}")

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as directory:
        loaded = load(Path(directory))
    ok = loaded <= LOAD_GOAL_S
    print(f"L  Chargement national (extraction, import, dossiers) : {loaded:.1f} s (objectif ≤ {LOAD_GOAL_S} s)")

    inputs = portfolio()
    core = rules_core(inputs)
    ratio = core["rules"] / core["load"]
    ok &= ratio <= P1_GOAL and core["rules"] <= P1_ABSOLUTE_GOAL_S
    print(
        f"P1 Cœur des règles, {core['count']} projets : {core['rules']:.2f} s "
        f"({core['rules'] / core['count'] * 1000:.2f} ms par projet ; objectif ≤ {P1_ABSOLUTE_GOAL_S:.0f} s) ; "
        f"lecture des entrées : {core['load']:.2f} s ; rapport {ratio:.1f} (objectif ≤ {P1_GOAL})"
    )
    start = startup(inputs)
    ok &= start["simulate"] <= STARTUP_GOAL_S
    print(
        f"P1 Démarrage de « esms simulate » : {start['simulate']:.2f} s ; "
        f"« python -c pass » : {start['python']:.2f} s ; "
        f"rapport {start['simulate'] / start['python']:.1f} (objectif ≤ {STARTUP_GOAL_S} s)"
    )

    plan = page_plan()
    rows = pages(plan)
    dossier_pages_made_again(plan)
    slow = [row for row in rows if row["ratio"] > PAGE_GOAL]
    ok &= not slow
    load_run = concurrent(plan)
    for label, p95 in load_run["p95"].items():
        print(f"P4 {CLIENTS} clients simultanés, {label:38s} p95 {p95 * 1000:8.0f} ms")
    ok &= max(load_run["p95"].values()) <= P95_GOAL_S and load_run["peak_mb"] <= WORKER_MEMORY_GOAL_MB
    print(
        f"P4 {CLIENTS} clients simultanés ({load_run['server']}) : {load_run['requests']} requêtes en "
        f"{load_run['elapsed']:.1f} s, p95 de toutes {load_run['all_p95'] * 1000:.0f} ms "
        f"(objectif ≤ {P95_GOAL_S} s par page) ; mémoire maximale d'un worker {load_run['peak_mb']:.0f} Mo "
        f"(objectif ≤ {WORKER_MEMORY_GOAL_MB} Mo)"
    )
    print(
        f"P4 Pages au-delà de {PAGE_GOAL} × /api/health : "
        + (", ".join(f"{r['page']} ({r['who']})" for r in slow) or "aucune")
    )
    print(f"Mémoire maximale du processus (RSS) : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} Mo")
    print("Objectifs : " + ("tenus" if ok else "NON TENUS"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
