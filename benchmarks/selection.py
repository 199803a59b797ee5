"""Benchmark of the selection's optimal proposal (issue 13, P5), beside its baseline measured in the same run:

- P5 the proposal for 1 400 candidates across the 18 regions and 101 departments, 7 sectors, with every balance of
     AAP24 §6 switched on (department coverage, territorial tolerance, sector bounds) and ESSMS shared by pairs of
     candidates: time of `rules.selection.propose` (≤ 2 s) and its proven optimality gap (≤ 0.1 %), against a greedy
     score-per-euro baseline under the same envelope — how much better the optimum is, and whether greedy even
     respects the balances.

No database: the candidates are generated (seeded) like a national portfolio, the rules core is called in-process.

    make bench        (or: .venv/bin/python benchmarks/selection.py)
"""

from __future__ import annotations

import random
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CANDIDATES = 1_400
CLASHES = 60
TIME_GOAL_S = 2.0
GAP_GOAL = 0.001
ENVELOPE_SHARE = 0.4  # the envelope holds 40 % of what the candidates ask
SEED = 2024


def portfolio(seed: int = SEED):
    from esms_numerique.rules import selection as rules
    from esms_numerique.rules.geography import geography
    from esms_numerique.rules.parameters import default_tree

    rng = random.Random(seed)
    geo = geography()
    sectors = [row["code"] for row in default_tree().get("sectors.sectors").values[-1].value]
    by_region: dict[str, list[str]] = {}
    for code, department in sorted(geo.departments.items()):
        by_region.setdefault(department.region, []).append(code)
    regions = sorted(by_region)
    density = {code: rng.randint(80, 900) for code in geo.departments}
    candidates = []
    for n in range(CANDIDATES):
        region = regions[n % len(regions)]
        departments = rng.sample(by_region[region], k=min(len(by_region[region]), rng.choice((1, 1, 1, 2, 3))))
        essms = rng.randint(3, 40)
        acquisitions = rng.randint(0, essms)
        cost = essms * rng.choice((5_000, 12_000, 21_000)) + rng.choice((0, 15_000, 40_000))
        chosen_sectors = rng.sample(sectors[:2], k=1) + (rng.sample(sectors[2:], k=1) if rng.random() < 0.3 else [])
        candidates.append(
            rules.Candidate(
                reference=f"ESMS-2024-{n + 1:05d}",
                cost_eur=cost,
                new_essms=essms,
                acquisition_share=Fraction(acquisitions, essms),
                by_territory=rules.split_eur(cost, {d: rng.randint(1, 10) for d in departments}),
                by_sector=rules.split_eur(cost, {s: rng.randint(1, 10) for s in chosen_sectors}),
                score=rng.randint(60, 300),
                score_max=300,
            )
        )
    clashes = []
    for _ in range(CLASHES):
        a, b = rng.sample(range(CANDIDATES), 2)
        pair = sorted((candidates[a].reference, candidates[b].reference))
        clashes.append((pair[0], pair[1], f"{350000000 + a:09d}"))
    envelope = int(sum(c.cost_eur for c in candidates) * ENVELOPE_SHARE)
    situation = rules.Situation(envelope_eur=envelope, density=density, clashes=tuple(sorted(set(clashes))))
    settings = rules.Settings(
        objective="score",
        acquisition_bonus=0.2,
        territorial_balance=True,
        territory_tolerance=0.02,
        sector_balance=True,
        sector_bounds={"PA": (0.3, 0.7), "PH": (0.3, 0.7)},
        territory_coverage=True,
    )
    return candidates, situation, settings


def greedy(problem, budget: int) -> frozenset[int]:
    """The baseline: by value per euro, take each candidate that still fits the envelope and shares no ESSMS with
    one already taken; no balance considered."""
    from esms_numerique.rules.selection import exclusive_partners

    partners = exclusive_partners(problem)
    order = sorted(
        range(len(problem.candidates)),
        key=lambda i: (-problem.values[i] / max(1, problem.candidates[i].cost_eur), problem.candidates[i].reference),
    )
    chosen: set[int] = set()
    spent = 0
    for i in order:
        cost = problem.candidates[i].cost_eur
        if spent + cost <= budget and not (partners.get(i, set()) & chosen):
            chosen.add(i)
            spent += cost
    return frozenset(chosen)


def violated(problem, chosen: frozenset[int]) -> dict[str, int]:
    """Constraint rows the set breaks, by family."""
    broken: dict[str, int] = {}
    for row in problem.rows:
        quantity = row.quantity(problem.candidates, chosen)
        if (row.upper is not None and quantity > row.upper + 1e-6) or (
            row.lower is not None and quantity < row.lower - 1e-6
        ):
            broken[row.family] = broken.get(row.family, 0) + 1
    return broken


def _n(value: float, digits: int = 0) -> str:
    """A French number: narrow no-break space between thousands, comma before decimals."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def main() -> int:
    from esms_numerique.rules import selection as rules

    candidates, situation, settings = portfolio()
    rules.propose(candidates[:20], situation, settings)  # import HiGHS and numpy outside the measure
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        result = rules.propose(candidates, situation, settings)
        runs.append(time.perf_counter() - started)
    elapsed = min(runs)
    problem = rules.build_problem(candidates, situation, settings)
    families = sorted({row.family for row in problem.rows})
    print(
        f"P5 Proposition optimale : {len(candidates)} candidats, {len(problem.rows)} contraintes "
        f"({' ; '.join(families)}), enveloppe {_n(situation.envelope_eur)} €"
    )
    ok = result["status"] == "optimal" and elapsed <= TIME_GOAL_S
    print(
        f"P5 Temps de la proposition (calcul et borne de la relaxation linéaire) : {_n(elapsed, 2)} s "
        f"(objectif ≤ {TIME_GOAL_S:.0f} s) ; statut {result['status']}"
    )
    proven_gap = result.get("proven_gap")
    ok &= proven_gap is not None and proven_gap <= GAP_GOAL
    shown_gap = "—" if proven_gap is None else f"{_n(proven_gap * 100, 4)} %"
    print(
        f"P5 Écart d'optimalité prouvé (borne duale du solveur) : {shown_gap} (objectif ≤ {_n(GAP_GOAL * 100, 1)} %) ; "
        f"écart à la relaxation linéaire : {_n(result['gap'] * 100, 3)} %"
    )
    started = time.perf_counter()
    baseline = greedy(problem, situation.available_eur)
    greedy_s = time.perf_counter() - started
    broken = violated(problem, baseline)
    print(
        f"P5 Base gloutonne (valeur par euro, {_n(greedy_s * 1000)} ms) sous les mêmes contraintes : "
        + (
            "contraintes non respectées — " + ", ".join(f"{count} {family}" for family, count in sorted(broken.items()))
            if broken
            else "toutes respectées"
        )
    )
    # Like for like: the envelope and the shared ESSMS only, where greedy is a valid proposal.
    plain_settings = rules.Settings(objective="score", acquisition_bonus=settings.acquisition_bonus)
    plain = rules.propose(candidates, situation, plain_settings)
    plain_problem = rules.build_problem(candidates, situation, plain_settings)
    plain_greedy = greedy(plain_problem, situation.available_eur)
    greedy_value = sum(plain_problem.values[i] for i in plain_greedy) / rules.SCALE
    better = (plain["objective"] - greedy_value) / greedy_value * 100
    print(
        f"P5 Sous la seule enveloppe : optimum {_n(plain['objective'], 2)} ({len(plain['selected'])} dossiers, "
        f"écart prouvé {_n((plain['proven_gap'] or 0) * 100, 4)} %) ; glouton {_n(greedy_value, 2)} "
        f"({len(plain_greedy)} dossiers) : l'optimum fait mieux de {_n(better, 3)} %"
    )
    print("P5 " + ("objectifs atteints" if ok else "OBJECTIF MANQUÉ"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
