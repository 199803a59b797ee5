"""The rules core of selection (no database): the grid's score, money split by territory, and the optimal proposal
on small cases whose optimum is known by hand (P-PROPOSAL, P-BALANCE-TERRITORY, P-EXCLUSIVE, P-COVERAGE)."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from fractions import Fraction

import pytest

from esms_numerique.rules import selection as rules
from esms_numerique.rules.selection import Candidate, Settings, Situation, propose

ON = dt.date(2024, 4, 10)


def candidate(reference, cost, score, territory, sector="PA", acquisition=Fraction(0), essms=5):
    return Candidate(reference, cost, essms, acquisition, {territory: cost}, {sector: cost}, score=score, score_max=300)


# A greedy choice by score per euro takes A (0,333 point per 1 000 €), then only D fits: 260 points for 900 000 €.
# The optimum is B + C: 320 points for 990 000 €.
A = candidate("A", 600_000, 200, "29")
B = candidate("B", 500_000, 160, "35")
C = candidate("C", 490_000, 160, "35", sector="PH")
D = candidate("D", 300_000, 60, "29", sector="PH")
CASE = [A, B, C, D]
BRETAGNE = {"29": 50, "35": 50}


def greedy(candidates, budget):
    chosen, spent = [], 0
    for c in sorted(candidates, key=lambda c: -c.score / c.cost_eur):
        if spent + c.cost_eur <= budget:
            chosen.append(c.reference)
            spent += c.cost_eur
    return sorted(chosen), spent


def test_the_optimum_known_by_hand_beats_greedy():
    assert greedy(CASE, 1_000_000) == (["A", "D"], 900_000)
    result = propose(CASE, Situation(envelope_eur=1_000_000, density=BRETAGNE), Settings())
    assert result["status"] == "optimal"
    assert result["selected"] == ["B", "C"]
    assert result["total_eur"] == 990_000
    assert result["objective"] == 320
    assert result["gap"] <= result["bound"] and result["bound"] >= 320
    rows = {row["reference"]: row for row in result["dossiers"]}
    assert rows["A"]["selected"] is False
    assert "il faudrait retirer B, C" in " ".join(rows["A"]["reasons"])
    assert rows["A"]["binding"] == ["budget"]
    assert rows["B"]["loss"] == 320 - 260  # without B, the best is A + D
    assert "elle prendrait A, D" in rows["B"]["reasons"][1]
    budget = next(c for c in result["constraints"] if c["key"] == "budget")
    assert budget["slack"] == 10_000


def test_what_is_engaged_comes_off_the_envelope():
    situation = Situation(envelope_eur=1_300_000, engaged_eur=300_000, engaged_by_territory={"29": 300_000})
    result = propose(CASE, situation, Settings())
    assert (result["available_eur"], result["selected"], result["total_eur"]) == (1_000_000, ["B", "C"], 990_000)


def test_the_territorial_tolerance_changes_the_choice():
    # B + C give all the money to the 35 while the 29 holds half the ESSMS: with a tolerance of 15 points, each
    # department's share must stay within 35 % and 65 %. B + D (62,5 % for the 35) and C + D (62,0 %) are worth
    # 220 each: the cheaper one, C + D, 790 000 €.
    settings = Settings(territorial_balance=True, territory_tolerance=0.15)
    result = propose(CASE, Situation(envelope_eur=1_000_000, density=BRETAGNE), settings)
    assert (result["selected"], result["total_eur"], result["objective"]) == (["C", "D"], 790_000, 220)
    rows = {row["reference"]: row for row in result["dossiers"]}
    # No set that holds A (all its money in the 29) keeps the 35 within its share, within the envelope.
    assert rows["A"]["binding"] == ["budget", "territory"]
    assert rows["B"]["loss"] == 0  # B + D is worth C + D, for 10 000 € more
    # A wider tolerance gives B + C back.
    wide = propose(
        CASE,
        Situation(envelope_eur=1_000_000, density=BRETAGNE),
        Settings(territorial_balance=True, territory_tolerance=0.5),
    )
    assert wide["selected"] == ["B", "C"]


def test_dossiers_that_share_an_essms_are_never_proposed_together():
    situation = Situation(envelope_eur=1_000_000, density=BRETAGNE, clashes=(("B", "C", "350000022"),))
    result = propose(CASE, situation, Settings())
    assert (result["selected"], result["total_eur"], result["objective"]) == (["A", "D"], 900_000, 260)
    exclusive = next(c for c in result["constraints"] if c["family"] == "exclusive")
    assert "350000022" in exclusive["label"]


def test_the_acquisition_bonus_favours_acquisitions():
    # D acquires a DUI for all its ESSMS: 60 × 1,2 = 72.
    d = candidate("D", 300_000, 60, "29", acquisition=Fraction(1))
    result = propose([A, B, C, d], Situation(envelope_eur=1_000_000), Settings(acquisition_bonus=0.2))
    row = next(r for r in result["dossiers"] if r["reference"] == "D")
    assert row["value"] == 72


def test_infeasible_constraints_are_explained_in_french():
    settings = Settings(territory_coverage=True)
    result = propose(CASE, Situation(envelope_eur=400_000, density=BRETAGNE), settings)
    assert result["status"] == "infeasible"
    assert result["selected"] == []
    assert result["infeasibility"] == [
        "Aucune proposition ne respecte toutes les contraintes choisies. Une proposition existe si l'on lève l'une "
        "de celles-ci : l'enveloppe disponible ; la couverture de chaque territoire."
    ]


def test_a_dossier_too_costly_for_the_envelope_says_so():
    big = candidate("E", 2_000_000, 300, "35")
    result = propose([*CASE, big], Situation(envelope_eur=1_000_000), Settings())
    row = next(r for r in result["dossiers"] if r["reference"] == "E")
    assert row["binding"] == ["budget"]
    assert any("dépasse à lui seul" in r for r in row["reasons"])


@pytest.mark.parametrize("seed", range(25))
def test_the_solver_agrees_with_enumeration(seed):
    """On small random committees, the proposal is the best set by enumeration, then the cheapest among the best."""
    rng = random.Random(seed)
    candidates = [
        candidate(
            f"R{k}", rng.randint(5, 60) * 10_000, rng.randint(0, 300), "35", acquisition=Fraction(rng.randint(0, 4), 4)
        )
        for k in range(rng.randint(1, 9))
    ]
    refs = [c.reference for c in candidates]
    clashes = tuple((a, b, "x") for a, b in itertools.combinations(refs, 2) if rng.random() < 0.15)
    situation = Situation(envelope_eur=rng.randint(10, 200) * 10_000, clashes=clashes)
    settings = Settings(acquisition_bonus=rng.choice([0, 0.2, 0.5]))
    values = {c.reference: rules.value_of(c, settings) for c in candidates}
    best = None
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            names = {c.reference for c in subset}
            cost = sum(c.cost_eur for c in subset)
            if cost > situation.available_eur or any(a in names and b in names for a, b, _ in clashes):
                continue
            key = (-sum(values[n] for n in names), cost)
            if best is None or key < best[0]:
                best = (key, names)
    result = propose(candidates, situation, settings)
    chosen_value = sum(values[n] for n in result["selected"])
    assert (-chosen_value, result["total_eur"]) == best[0]


def test_the_grid_score_and_its_parameters():
    grid = rules.grid_on(ON)
    assert grid.codes() == [
        "motivation",
        "perimetre",
        "mutualisation",
        "interoperabilite",
        "plateforme_regionale",
        "maturite",
    ]
    assert grid.max_points == 300
    assert grid.sources["criteria"].reference.text == "AAP24"
    assert grid.sources["weights"].reference.section.startswith("D-SELECTION")
    notes = {
        "motivation": 3,
        "perimetre": 2,
        "mutualisation": 3,
        "interoperabilite": 2,
        "plateforme_regionale": 0,
        "maturite": 1,
    }
    score = rules.grid_score(grid, notes)
    assert score.points == 45 + 40 + 60 + 40 + 0 + 15
    assert score.out_of_100 == Fraction(200, 3)
    with pytest.raises(ValueError, match="Maturité"):
        rules.grid_score(grid, {**notes, "maturite": 4})


@pytest.mark.parametrize(("ogs", "sectors", "note"), [(1, 1, 0), (1, 2, 1), (2, 1, 2), (3, 2, 3)])
def test_the_mutualisation_prefill(ogs, sectors, note):
    assert rules.mutualisation_prefill(ON, ogs, sectors)[0] == note


def test_money_splits_to_the_euro():
    assert rules.split_eur(100, {"22": 1, "29": 1, "35": 1}) == {"22": 34, "29": 33, "35": 33}
    assert sum(rules.split_eur(1_234_567, {"a": 3, "b": 7, "c": 11}).values()) == 1_234_567
    assert rules.split_eur(0, {"a": 1}) == {}


@pytest.mark.parametrize("seed", range(30))
def test_the_balances_agree_with_enumeration(seed):
    """With every balance switched on (territory shares with what is already engaged, sector bounds, coverage), the
    proposal's value is the best by enumeration, each share checked exactly in fractions (DECISION
    D-SELECTION-SCALE: the share rows are written with an auxiliary total-cost column)."""
    rng = random.Random(1000 + seed)
    territories, sectors = ["22", "29", "35", "56"], ["PA", "PH", "DOM"]
    candidates = [
        candidate(
            f"R{k}",
            rng.randint(5, 60) * 10_000,
            rng.randint(0, 300),
            rng.choice(territories),
            sector=rng.choice(sectors),
        )
        for k in range(rng.randint(2, 9))
    ]
    density = {t: rng.randint(10, 100) for t in territories}
    engaged_t = {t: rng.choice([0, 0, 100_000]) for t in territories}
    engaged_total = sum(engaged_t.values())
    engaged_s = dict(zip(sectors, rules.split_eur(engaged_total, {"PA": 1, "PH": 1}).values(), strict=False))
    situation = Situation(
        envelope_eur=engaged_total + rng.randint(20, 200) * 10_000,
        engaged_eur=engaged_total,
        engaged_by_territory={t: e for t, e in engaged_t.items() if e},
        engaged_by_sector={s: e for s, e in engaged_s.items() if e},
        density=density,
    )
    settings = Settings(
        territorial_balance=True,
        territory_tolerance=rng.choice([0.1, 0.2, 0.3]),
        sector_balance=True,
        sector_bounds={"PA": (0.1, 0.8), "PH": (0.0, 0.7)},
        territory_coverage=rng.random() < 0.5,
    )
    problem = rules.build_problem(candidates, situation, settings)
    in_play = set(problem.territory_shares)
    values = {c.reference: rules.value_of(c, settings) for c in candidates}

    tolerance = Fraction(str(settings.territory_tolerance))

    def within(part: int, total: int, low: Fraction, high: Fraction) -> bool:
        """A bound of 0 or below, 1 or above, is no constraint (no row is written for it); nothing allocated at all
        (an empty proposal, nothing engaged) has no share to bound."""
        if not total:
            return True
        share = Fraction(part, total)
        return (low <= 0 or share >= low) and (high >= 1 or share <= high)

    def feasible(subset) -> bool:
        cost = sum(c.cost_eur for c in subset)
        if cost > situation.available_eur:
            return False
        total = engaged_total + cost
        for t, share in problem.territory_shares.items():
            part = engaged_t.get(t, 0) + sum(c.by_territory.get(t, 0) for c in subset)
            if not within(part, total, share - tolerance, share + tolerance):
                return False
        for s, (low, high) in settings.sector_bounds.items():
            part = situation.engaged_by_sector.get(s, 0) + sum(c.by_sector.get(s, 0) for c in subset)
            if not within(part, total, Fraction(str(low)), Fraction(str(high))):
                return False
        uncovered = {t for c in candidates for t in c.by_territory} - set(situation.engaged_by_territory)
        return not settings.territory_coverage or all(any(t in c.by_territory for c in subset) for t in uncovered)

    best = None
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            if feasible(subset):
                value = sum(values[c.reference] for c in subset)
                best = value if best is None else max(best, value)
    result = propose(candidates, situation, settings)
    assert in_play <= set(territories)
    if best is None:
        assert result["status"] == "infeasible"
    else:
        assert result["status"] == "optimal"
        assert sum(values[n] for n in result["selected"]) == best


def test_the_solver_prints_nothing_on_the_standard_output():
    """HiGHS's banner would spoil `esms comite proposer --json`: a fresh process solving a proposal prints only
    what it prints itself."""
    import subprocess
    import sys

    code = (
        "import json; from tests.selection.test_rules import CASE, BRETAGNE; "
        "from esms_numerique.rules.selection import Situation, Settings, propose; "
        "print(json.dumps(propose(CASE, Situation(envelope_eur=1_000_000, density=BRETAGNE), Settings())['selected']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout == '["B", "C"]\n'
