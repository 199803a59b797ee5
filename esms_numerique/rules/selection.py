"""Selection under an envelope (AAP24 §6 « Priorisation régionale des projets »): the prioritisation grid's score,
and the committee's optimal proposal — a mixed-integer programme solved exactly by HiGHS, that explains each
dossier in or out and never decides (the committee decides each item).

Rule IDs:
- P-GRID: the grid's weighted score (criteria AAP24 §6; scale, weights and prefill DECISION D-SELECTION);
- P-PROPOSAL: the set of candidates that maximises the chosen objective within the available envelope;
- P-BALANCE-TERRITORY: each territory's share of the allocation within a tolerance of its share of the ESSMS;
- P-BALANCE-SECTOR: each sector's share of the allocation within bounds;
- P-COVERAGE: each territory with a candidate gets at least one dossier (or already has one this campaign);
- P-EXCLUSIVE: two candidates that claim the same ESSMS are never proposed together (E-NO-DOUBLE);
- P-ACQUISITION: « un intérêt marqué » for DUI acquisitions, a bonus on the objective;
- P-WHATIF: a campaign's dossiers replayed on a draft parameter set (read-only, for CNSA).

Money is integer euros; the objective is counted in hundredths (value × 100, rounded), so that « optimal » is
proven exactly: the solver's gap is below one unit of an integer objective. Ties are broken by the smaller total
(a second solve), so the same inputs always give the same proposal (docs/decisions.md, DECISION D-SELECTION).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from .parameters import DatedValue, ParameterTree, Reference, default_tree
from .results import rule

GRID = "selection/grid"
PROPOSAL = "selection/proposal"
SRC_GRID = "AAP24 §6 (001_098b5f25fa5a095c.txt) ; DECISION D-SELECTION (docs/decisions.md)"
OBJECTIVES = {"score": "score de la grille", "essms": "ESSMS nouvellement couverts"}
SCALE = 100  # the objective in hundredths of a point (or of an ESSMS)
EXPLAIN_LIMIT = 80  # beyond, the per-dossier re-solves are skipped (a national portfolio)
# Beyond EXPLAIN_LIMIT candidates the solver stops once the optimum is proven within this relative gap, and the
# cheapest-among-equals second solve is skipped: exactness to the hundredth of a point costs minutes on a national
# portfolio (issue 13, P5; DECISION D-SELECTION-SCALE).
LARGE_REL_GAP = 0.001


# ---------------------------------------------------------------------------------------------------------------
# The grid (P-GRID).


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    comment: str
    weight: int


@dataclass(frozen=True)
class Grid:
    criteria: tuple[Criterion, ...]
    scale: tuple[tuple[int, str], ...]
    sources: dict[str, DatedValue]

    @property
    def top(self) -> int:
        return max(points for points, _ in self.scale)

    @property
    def max_points(self) -> int:
        return sum(c.weight for c in self.criteria) * self.top

    def codes(self) -> list[str]:
        return [c.code for c in self.criteria]


def grid_on(on: dt.date, tree: ParameterTree | None = None) -> Grid:
    tree = tree or default_tree()
    values = {name: tree.get(f"{GRID}.{name}").in_force(on) for name in ("criteria", "scale", "weights")}
    weights = {row["criterion"]: row["weight"] for row in values["weights"].value}
    criteria = tuple(
        Criterion(row["code"], row["label"], " ".join(row["comment"].split()), weights[row["code"]])
        for row in values["criteria"].value
    )
    if set(weights) != {c.code for c in criteria}:
        raise ValueError(f"{GRID} : les poids ne nomment pas exactement les critères")
    scale = tuple((row["points"], row["label"]) for row in values["scale"].value)
    return Grid(criteria, scale, values)


@dataclass(frozen=True)
class GridScore:
    points: int  # Σ weight × note
    max_points: int
    lines: tuple[dict[str, Any], ...]

    @property
    def out_of_100(self) -> Fraction:
        return Fraction(self.points * 100, self.max_points) if self.max_points else Fraction(0)


@rule("P-GRID", SRC_GRID)
def grid_score(grid: Grid, notes: dict[str, int]) -> GridScore:
    """The weighted sum of the notes, criterion by criterion; every criterion noted on the scale."""
    allowed = {points for points, _ in grid.scale}
    lines = []
    for criterion in grid.criteria:
        note = notes.get(criterion.code)
        if note not in allowed:
            raise ValueError(f"P-GRID : note manquante ou hors échelle pour « {criterion.label} »")
        lines.append(
            {"criterion": criterion.code, "note": note, "weight": criterion.weight, "points": note * criterion.weight}
        )
    return GridScore(sum(line["points"] for line in lines), grid.max_points, tuple(lines))


def mutualisation_prefill(on: dt.date, og_count: int, sector_count: int, tree: ParameterTree | None = None):
    """The note the platform proposes for « solution mutualisée », from the grappe: OGs sharing the solution and
    sectors of their ESSMS. Returns (note, the parameter value it read)."""
    value = (tree or default_tree()).get(f"{GRID}.mutualisation_prefill").in_force(on)
    for row in value.value:
        if og_count >= row["min_ogs"] and sector_count >= row["min_sectors"]:
            return row["points"], value
    return 0, value


def interoperability_prefill(on: dt.date, socles: int, platforms: int, tree: ParameterTree | None = None):
    """The note the platform proposes for « interopérabilité », from the usage measured on the grappe's ESSMS:
    services socles used (MSSanté, DMP) and regional platforms exchanged with (e-parcours). Returns (note, the
    parameter value it read)."""
    value = (tree or default_tree()).get(f"{GRID}.interoperabilite_prefill").in_force(on)
    for row in value.value:
        if socles >= row["min_socles"] and platforms >= row["min_platforms"]:
            return row["points"], value
    return 0, value


# ---------------------------------------------------------------------------------------------------------------
# Money split by territory or sector.


def split_eur(total: int, weights: dict[str, int]) -> dict[str, int]:
    """`total` split in proportion to `weights`, in whole euros that add up to it exactly (largest remainders,
    then the key's order)."""
    positive = {k: w for k, w in weights.items() if w > 0}
    whole = sum(positive.values())
    if not positive or total <= 0:
        return {}
    shares = {k: Fraction(total * w, whole) for k, w in positive.items()}
    floors = {k: int(s) for k, s in shares.items()}
    rest = total - sum(floors.values())
    for k in sorted(positive, key=lambda k: (-(shares[k] - floors[k]), k))[:rest]:
        floors[k] += 1
    return floors


# ---------------------------------------------------------------------------------------------------------------
# The proposal (P-PROPOSAL).


@dataclass(frozen=True)
class Candidate:
    reference: str
    cost_eur: int
    new_essms: int
    acquisition_share: Fraction  # ESSMS in acquisition ÷ fundable ESSMS
    by_territory: dict[str, int]  # the cost split by territory (euros)
    by_sector: dict[str, int]  # the cost split by sector (euros)
    score: int | None = None  # P-GRID points, None while the grid is not filled
    score_max: int | None = None


@dataclass(frozen=True)
class Settings:
    objective: str = "score"
    acquisition_bonus: float = 0.0
    territorial_balance: bool = False
    territory_tolerance: float = 0.15
    sector_balance: bool = False
    sector_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    territory_coverage: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "acquisition_bonus": self.acquisition_bonus,
            "territorial_balance": self.territorial_balance,
            "territory_tolerance": self.territory_tolerance,
            "sector_balance": self.sector_balance,
            "sector_bounds": {k: list(v) for k, v in sorted(self.sector_bounds.items())},
            "territory_coverage": self.territory_coverage,
        }


def default_settings(on: dt.date, tree: ParameterTree | None = None) -> tuple[Settings, dict[str, DatedValue]]:
    """The settings a committee starts from, and the parameter values they come from (with their sources)."""
    tree = tree or default_tree()
    names = (
        "territorial_balance",
        "department_tolerance",
        "sector_balance",
        "sector_min_share",
        "sector_max_share",
        "department_coverage",
        "acquisition_bonus",
    )
    values = {name: tree.get(f"{PROPOSAL}.{name}").in_force(on) for name in names}
    settings = Settings(
        objective="score",
        acquisition_bonus=values["acquisition_bonus"].value,
        territorial_balance=values["territorial_balance"].value,
        territory_tolerance=values["department_tolerance"].value,
        sector_balance=values["sector_balance"].value,
        territory_coverage=values["department_coverage"].value,
    )
    return settings, values


@dataclass(frozen=True)
class Situation:
    """What the committee's scope already holds: the envelope, what is engaged this campaign (in total, by territory
    and by sector), the ESSMS of each territory (its density), and the pairs of candidates that share an ESSMS."""

    envelope_eur: int
    engaged_eur: int = 0
    engaged_by_territory: dict[str, int] = field(default_factory=dict)
    engaged_by_sector: dict[str, int] = field(default_factory=dict)
    density: dict[str, int] = field(default_factory=dict)
    clashes: tuple[tuple[str, str, str], ...] = ()  # (reference, reference, the FINESS ET they share)

    @property
    def available_eur(self) -> int:
        return max(0, self.envelope_eur - self.engaged_eur)


def value_of(candidate: Candidate, settings: Settings) -> int:
    """P-ACQUISITION: the candidate's value in hundredths, its acquisition share raising it by the bonus."""
    base = (candidate.score or 0) if settings.objective == "score" else candidate.new_essms
    bonus = Fraction(str(settings.acquisition_bonus)) * candidate.acquisition_share
    return round(Fraction(base) * (1 + bonus) * SCALE)


@dataclass
class Row:
    family: str  # budget, exclusive, territory, sector, coverage
    key: str
    label: str
    coefficients: dict[int, float]
    lower: float | None
    upper: float | None
    rule: str
    constant: float = 0.0  # what the row's quantity holds before any candidate (shown, not solved)
    total: float = 0.0  # coefficient of the selection's total cost (an auxiliary column; keeps share rows sparse)

    def quantity(self, candidates: list[Candidate], chosen: Iterable[int]) -> float:
        chosen = set(chosen)
        value = sum(coef for i, coef in self.coefficients.items() if i in chosen)
        return value + self.total * sum(candidates[i].cost_eur for i in chosen) if self.total else value


@dataclass
class Problem:
    candidates: list[Candidate]
    values: list[int]
    rows: list[Row]
    territory_shares: dict[str, Fraction]
    notes: list[str]


def _shares_in_play(candidates: list[Candidate], situation: Situation) -> tuple[dict[str, Fraction], list[str]]:
    """P-BALANCE-TERRITORY reads each territory's share of the ESSMS among the territories in play: those with a
    candidate or an amount already engaged this campaign. The others can receive nothing at this committee; they
    are named, not constrained (DECISION D-SELECTION)."""
    in_play = {t for c in candidates for t in c.by_territory} | {
        t for t, eur in situation.engaged_by_territory.items() if eur
    }
    total = sum(situation.density.get(t, 0) for t in in_play)
    shares = {t: Fraction(situation.density.get(t, 0), total) for t in sorted(in_play)} if total else {}
    idle = sorted(t for t, n in situation.density.items() if n and t not in in_play)
    notes = []
    if idle:
        notes.append(
            "Territoires sans dossier candidat ni engagement cette campagne (ESSMS isolés à surveiller, AAP24 §6) : "
            + ", ".join(f"{t} ({situation.density[t]} ESSMS)" for t in idle)
            + "."
        )
    return shares, notes


def _pct(share: float | Fraction) -> str:
    return f"{float(share) * 100:.1f}".rstrip("0").rstrip(".").replace(".", ",") + "\u00a0%"


def _share_rows(
    family: str,
    rule_id: str,
    key: str,
    name: str,
    part: dict[int, int],
    costs: list[int],
    engaged_part: int,
    engaged_total: int,
    low: float | None,
    high: float | None,
) -> list[Row]:
    """share = (engaged_part + Σ part_i x_i) ÷ (engaged_total + Σ cost_i x_i) within [low, high], written
    linearly: Σ part_i x_i − share × T, where T = Σ cost_i x_i is one auxiliary column shared by every share row —
    a row then touches only the candidates of its territory or sector (sparse: a national portfolio solves in
    seconds, not minutes; DECISION D-SELECTION-SCALE)."""
    rows = []
    touching = {i: p for i, p in part.items() if p}
    if high is not None and high < 1:
        rows.append(
            Row(
                family,
                f"{family}:{key}:max",
                f"Part {name} au plus {_pct(high)}",
                touching,
                None,
                high * engaged_total - engaged_part,
                rule_id,
                total=-high,
            )
        )
    if low is not None and low > 0:
        rows.append(
            Row(
                family,
                f"{family}:{key}:min",
                f"Part {name} au moins {_pct(low)}",
                {i: -p for i, p in touching.items()},
                None,
                engaged_part - low * engaged_total,
                rule_id,
                total=low,
            )
        )
    return rows


def build_problem(candidates: list[Candidate], situation: Situation, settings: Settings) -> Problem:
    if settings.objective not in OBJECTIVES:
        raise ValueError(f"objectif inconnu « {settings.objective} »")
    candidates = sorted(candidates, key=lambda c: c.reference)
    index = {c.reference: i for i, c in enumerate(candidates)}
    costs = [c.cost_eur for c in candidates]
    rows = [
        Row(
            "budget",
            "budget",
            "Enveloppe disponible (enveloppe moins déjà engagé)",
            dict(enumerate(costs)),
            None,
            situation.available_eur,
            "P-PROPOSAL",
        )
    ]
    for a, b, finess in situation.clashes:
        if a in index and b in index:
            rows.append(
                Row(
                    "exclusive",
                    f"exclusive:{min(a, b)}|{max(a, b)}",
                    f"{a} et {b} demandent tous deux l'ESSMS {finess} : un seul des deux",
                    {index[a]: 1, index[b]: 1},
                    None,
                    1,
                    "P-EXCLUSIVE",
                )
            )
    shares, notes = _shares_in_play(candidates, situation)
    if settings.territorial_balance:
        tol = settings.territory_tolerance
        for territory, share in shares.items():
            part = {i: c.by_territory.get(territory, 0) for i, c in enumerate(candidates)}
            rows += _share_rows(
                "territory",
                "P-BALANCE-TERRITORY",
                territory,
                f"du territoire {territory} (sa part des ESSMS : {_pct(share)}, tolérance {_pct(tol)})",
                part,
                costs,
                situation.engaged_by_territory.get(territory, 0),
                situation.engaged_eur,
                float(share) - tol,
                float(share) + tol,
            )
    if settings.sector_balance:
        sectors = sorted({s for c in candidates for s in c.by_sector} | set(settings.sector_bounds))
        for sector in sectors:
            low, high = settings.sector_bounds.get(sector, (0.0, 1.0))
            part = {i: c.by_sector.get(sector, 0) for i, c in enumerate(candidates)}
            rows += _share_rows(
                "sector",
                "P-BALANCE-SECTOR",
                sector,
                f"du secteur {sector}",
                part,
                costs,
                situation.engaged_by_sector.get(sector, 0),
                situation.engaged_eur,
                low,
                high,
            )
    if settings.territory_coverage:
        for territory in sorted({t for c in candidates for t in c.by_territory}):
            if situation.engaged_by_territory.get(territory):
                continue
            touching = {i: 1 for i, c in enumerate(candidates) if c.by_territory.get(territory)}
            rows.append(
                Row(
                    "coverage",
                    f"coverage:{territory}",
                    f"Au moins un dossier pour {territory}",
                    touching,
                    1,
                    None,
                    "P-COVERAGE",
                )
            )
    values = [value_of(c, settings) for c in candidates]
    return Problem(candidates, values, rows, shares, notes)


# ---------------------------------------------------------------------------------------------------------------
# Solving.


@dataclass
class Solution:
    status: str  # optimal, infeasible, not_proven
    chosen: frozenset[int] = frozenset()
    value: int = 0
    cost: int = 0
    bound: float | None = None


_BANNER_SILENCED = False


def _highs():
    """highspy, imported here: the rules core loads without the solver when no proposal is asked. HiGHS prints its
    banner on the first solver of the process, to the C standard output, before any option can silence it: that
    first one is made with the standard output sent to /dev/null, so `esms comite proposer --json` prints JSON."""
    global _BANNER_SILENCED
    import highspy

    if not _BANNER_SILENCED:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SILENCED = True
    return highspy


def _solve(
    problem: Problem,
    fixed: dict[int, int] | None = None,
    drop: Iterable[str] = (),
    relax: bool = False,
    min_value: int | None = None,
    rel_gap: float = 0.0,
) -> tuple[str, list[float], float, float | None]:
    """One HiGHS run: maximise the value (or, with `min_value`, minimise the cost among sets worth at least it)."""
    import numpy as np

    highspy = _highs()
    n = len(problem.candidates)
    h = highspy.Highs()
    for option, setting in (
        ("output_flag", False),
        ("threads", 1),
        ("random_seed", 0),
        ("mip_rel_gap", rel_gap),
        ("mip_abs_gap", 0.5),  # an integer objective: a gap below 1 proves the optimum
        ("time_limit", 60.0),
    ):
        h.setOptionValue(option, setting)
    lower, upper = np.zeros(n), np.ones(n)
    for i, v in (fixed or {}).items():
        lower[i] = upper[i] = v
    if n == 0:
        return "optimal", [], 0.0, 0.0
    h.addVars(n, lower, upper)
    if not relax:
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * n))
    cols = np.arange(n, dtype=np.int32)
    if min_value is None:
        h.changeColsCost(n, cols, np.array(problem.values, dtype=float))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    else:
        h.changeColsCost(n, cols, np.array([c.cost_eur for c in problem.candidates], dtype=float))
        h.changeObjectiveSense(highspy.ObjSense.kMinimize)
        h.addRow(min_value, highspy.kHighsInf, n, cols, np.array(problem.values, dtype=float))
    dropped = set(drop)
    kept = [row for row in problem.rows if row.family not in dropped and row.key not in dropped]
    if any(row.total for row in kept):
        # T, the selection's total cost: T − Σ cost_i x_i = 0.
        h.addVar(0.0, highspy.kHighsInf)
        h.addRow(
            0.0,
            0.0,
            n + 1,
            np.arange(n + 1, dtype=np.int32),
            np.array([-c.cost_eur for c in problem.candidates] + [1.0], dtype=float),
        )
    for row in kept:
        if not row.coefficients and not row.total:
            if _constant_holds(row):
                continue
            return "infeasible", [], 0.0, None
        indices = sorted(row.coefficients)
        coefficients = [row.coefficients[i] for i in indices]
        if row.total:
            indices.append(n)
            coefficients.append(row.total)
        h.addRow(
            -highspy.kHighsInf if row.lower is None else row.lower,
            highspy.kHighsInf if row.upper is None else row.upper,
            len(indices),
            np.array(indices, dtype=np.int32),
            np.array(coefficients, dtype=float),
        )
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return "infeasible", [], 0.0, None
    info = h.getInfo()
    values = list(h.getSolution().col_value)[:n]
    if status != highspy.HighsModelStatus.kOptimal:
        return ("not_proven" if values else "infeasible"), values, info.objective_function_value, None
    bound = info.objective_function_value if relax else info.mip_dual_bound
    return "optimal", values, info.objective_function_value, bound


def _constant_holds(row: Row) -> bool:
    """A row without any candidate in it holds or fails on the constant alone (0 on its left)."""
    return (row.lower is None or row.lower <= 1e-9) and (row.upper is None or row.upper >= -1e-9)


def solve(
    problem: Problem,
    fixed: dict[int, int] | None = None,
    drop: Iterable[str] = (),
    value_only: bool = False,
    rel_gap: float = 0.0,
) -> Solution:
    """The best set, and among the best, the cheapest (lexicographic: value first, then cost; `value_only` skips
    the second solve when only the best value matters). With `rel_gap`, the best within that proven gap."""
    drop = tuple(drop)
    status, x, _, bound = _solve(problem, fixed, drop, rel_gap=rel_gap)
    if status == "infeasible":
        return Solution("infeasible")
    chosen = frozenset(i for i, v in enumerate(x) if v > 0.5)
    best = sum(problem.values[i] for i in chosen)
    if status == "optimal" and not value_only:
        status2, x2, _, _ = _solve(problem, fixed, drop, min_value=best)
        if status2 == "optimal":
            chosen = frozenset(i for i, v in enumerate(x2) if v > 0.5)
    cost = sum(problem.candidates[i].cost_eur for i in chosen)
    return Solution(status, chosen, sum(problem.values[i] for i in chosen), cost, bound)


def lp_bound(problem: Problem) -> float | None:
    status, _, objective, _ = _solve(problem, relax=True)
    return objective if status == "optimal" else None


# ---------------------------------------------------------------------------------------------------------------
# The proposal and its explanations.

FAMILY_LABELS = {
    "budget": "l'enveloppe disponible",
    "exclusive": "l'exclusion des dossiers qui partagent un ESSMS",
    "territory": "l'équilibre entre territoires",
    "sector": "l'équilibre entre secteurs",
    "coverage": "la couverture de chaque territoire",
}


def _points(value: int) -> str:
    text = f"{value / SCALE:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u202f").replace(".", ",")


def _eur(amount: int) -> str:
    return f"{amount:,d} €".replace(",", "\u202f")


def _refs(problem: Problem, indices: Iterable[int]) -> list[str]:
    return sorted(problem.candidates[i].reference for i in indices)


def _blocking_families(problem: Problem, fixed: dict[int, int]) -> list[str]:
    """The constraint families whose removal alone makes `fixed` feasible."""
    families = sorted({row.family for row in problem.rows})
    return [f for f in families if solve(problem, fixed, drop=(f,), value_only=True).status != "infeasible"]


def _row_status(problem: Problem, chosen: frozenset[int]) -> list[dict[str, Any]]:
    """Each constraint with the selection's quantity, its limit and whether it binds (no slack left)."""
    shown = []
    for row in problem.rows:
        quantity = row.quantity(problem.candidates, chosen)
        limit = row.upper if row.upper is not None else row.lower
        slack = (row.upper - quantity) if row.upper is not None else (quantity - row.lower)
        tight = slack < 1e-6 * max(1.0, abs(limit or 0)) + 0.5
        shown.append(
            {
                "key": row.key,
                "family": row.family,
                "rule": row.rule,
                "label": row.label,
                "binding": bool(tight),
                "slack": round(slack, 2),
            }
        )
    return shown


def _explain_in(problem: Problem, best: Solution, i: int) -> dict[str, Any]:
    candidate = problem.candidates[i]
    reasons = [f"Proposé : valeur {_points(problem.values[i])} pour {_eur(candidate.cost_eur)}."]
    without = solve(problem, fixed={i: 0}, value_only=True)
    if without.status == "infeasible":
        reasons.append("Sans lui, aucune proposition ne respecte les contraintes : il est indispensable.")
        return {"reasons": reasons, "loss": None, "without": None}
    loss = best.value - without.value
    if loss == 0:
        reasons.append("Une autre proposition de même valeur existe sans lui ; celle-ci coûte le moins.")
    else:
        swap_in = _refs(problem, without.chosen - best.chosen)
        text = f"Sans lui, la meilleure proposition vaudrait {_points(loss)} de moins"
        reasons.append(text + (f" (elle prendrait {', '.join(swap_in)})." if swap_in else "."))
    return {"reasons": reasons, "loss": loss, "without": _refs(problem, without.chosen)}


BALANCES = ("territory", "sector", "coverage")


def _explain_out(
    problem: Problem, best: Solution, i: int, clash_partners: dict[int, set[int]], plain_best: int | None
) -> dict[str, Any]:
    """Why a candidate is out: a proposed dossier claims the same ESSMS; no feasible set holds it (the constraint
    families that forbid it); or the best set that holds it is worth less — because of the balances (it would be in
    the best set of the envelope alone) or of the envelope (its value per euro is too low)."""
    candidate = problem.candidates[i]
    reasons: list[str] = []
    binding: list[str] = []
    partners = sorted(problem.candidates[j].reference for j in clash_partners.get(i, ()) if j in best.chosen)
    if partners:
        reasons.append(f"Partage un ESSMS avec {', '.join(partners)}, proposé : un seul des deux peut être retenu.")
        binding.append("exclusive")
    forced = solve(problem, fixed={i: 1}, value_only=True)
    if forced.status == "infeasible":
        families = _blocking_families(problem, {i: 1})
        binding += [f for f in families if f not in binding]
        if families:
            names = " ou ".join(FAMILY_LABELS[f] for f in families)
            reasons.append(f"Aucune proposition qui le contient ne respecte {names}.")
        else:
            reasons.append("Aucune proposition qui le contient ne respecte les contraintes, prises ensemble.")
        if candidate.cost_eur > problem.rows[0].upper:
            reasons.append(f"Son coût ({_eur(candidate.cost_eur)}) dépasse à lui seul l'enveloppe disponible.")
        return {"reasons": reasons, "binding": binding, "loss": None}
    loss = best.value - forced.value
    if loss <= 0:
        reasons.append("Une proposition de même valeur le contient ; à égalité, la moins chère est proposée.")
        return {"reasons": reasons, "binding": binding, "loss": 0}
    removed = _refs(problem, best.chosen - forced.chosen)
    added = _refs(problem, forced.chosen - best.chosen - {i})
    move = [f"retirer {', '.join(removed)}"] if removed else []
    move += [f"ajouter {', '.join(added)}"] if added else []
    how = f" : il faudrait {' et '.join(move)}" if move else ""
    reasons.append(
        f"Le proposer ferait perdre {_points(loss)} à la proposition{how} — valeur {_points(problem.values[i])} "
        f"pour {_eur(candidate.cost_eur)}."
    )
    if not partners:
        balances = [f for f in BALANCES if any(row.family == f for row in problem.rows)]
        kept_by_balances = False
        if balances and plain_best is not None:
            plain = solve(problem, fixed={i: 1}, drop=balances, value_only=True)
            kept_by_balances = plain.status == "optimal" and plain.value >= plain_best
        if kept_by_balances:
            binding += balances
            reasons.append(
                "Sous la seule enveloppe il serait proposé : ce sont "
                + " et ".join(FAMILY_LABELS[f] for f in balances)
                + " qui le tiennent hors de la proposition."
            )
        else:
            binding.append("budget")
            reasons.append("L'enveloppe le tient hors de la proposition : d'autres dossiers apportent plus par euro.")
    return {"reasons": reasons, "binding": binding, "loss": loss}


def _infeasibility(problem: Problem) -> list[str]:
    families = sorted({row.family for row in problem.rows})
    freeing = [f for f in families if solve(problem, drop=(f,), value_only=True).status != "infeasible"]
    if freeing:
        return [
            "Aucune proposition ne respecte toutes les contraintes choisies. Une proposition existe si l'on lève "
            "l'une de celles-ci : " + " ; ".join(FAMILY_LABELS[f] for f in freeing) + "."
        ]
    return [
        "Aucune proposition ne respecte toutes les contraintes choisies, et il ne suffit pas d'en lever une seule : "
        "élargissez les tolérances ou les bornes."
    ]


def exclusive_partners(problem: Problem) -> dict[int, set[int]]:
    """P-EXCLUSIVE: for each candidate, the candidates it shares a fundable ESSMS with (one of each pair at most)."""
    partners: dict[int, set[int]] = {}
    for row in problem.rows:
        if row.family == "exclusive":
            a, b = sorted(row.coefficients)
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
    return partners


@rule("P-PROPOSAL", SRC_GRID)
def propose(candidates: list[Candidate], situation: Situation, settings: Settings) -> dict[str, Any]:
    """The optimal set within the available envelope under the chosen balances, with its LP bound and gap, the
    state of each constraint, and for each candidate why it is in or out. A proposal; the committee decides."""
    problem = build_problem(candidates, situation, settings)
    large = len(problem.candidates) > EXPLAIN_LIMIT
    rel_gap = LARGE_REL_GAP if large else 0.0
    best = solve(problem, value_only=large, rel_gap=rel_gap)
    result: dict[str, Any] = {
        "rule": "P-PROPOSAL",
        "settings": settings.as_dict(),
        "objective_label": OBJECTIVES[settings.objective],
        "envelope_eur": situation.envelope_eur,
        "engaged_eur": situation.engaged_eur,
        "available_eur": situation.available_eur,
        "candidates": len(problem.candidates),
        "notes": problem.notes,
        "territory_shares": {t: float(s) for t, s in problem.territory_shares.items()},
    }
    if best.status == "infeasible":
        return result | {
            "status": "infeasible",
            "selected": [],
            "total_eur": 0,
            "objective": None,
            "bound": None,
            "gap": None,
            "infeasibility": _infeasibility(problem),
            "constraints": [],
            "dossiers": [_candidate_row(problem, i, False, {}) for i in range(len(problem.candidates))],
        }
    bound = lp_bound(problem)
    objective = best.value / SCALE
    gap = 0.0 if not bound else max(0.0, (bound / SCALE - objective) / (bound / SCALE))
    # The solver's own proof: its dual bound against the value found (0 when the optimum is exact).
    proven = None if best.bound is None or not best.value else max(0.0, (best.bound - best.value) / best.value)
    partners = exclusive_partners(problem)
    explain = len(problem.candidates) <= EXPLAIN_LIMIT
    balances = [f for f in BALANCES if any(row.family == f for row in problem.rows)]
    plain_best = solve(problem, drop=balances, value_only=True).value if explain and balances else None
    rows = []
    for i in range(len(problem.candidates)):
        selected = i in best.chosen
        details: dict[str, Any] = {}
        if explain:
            details = (
                _explain_in(problem, best, i) if selected else _explain_out(problem, best, i, partners, plain_best)
            )
        rows.append(_candidate_row(problem, i, selected, details))
    return result | {
        "status": best.status,
        "selected": _refs(problem, best.chosen),
        "total_eur": best.cost,
        "objective": objective,
        "bound": None if bound is None else bound / SCALE,
        "gap": gap,
        "proven_gap": proven,
        "gap_limit": rel_gap,
        "constraints": _row_status(problem, best.chosen),
        "dossiers": rows,
    }


def _candidate_row(problem: Problem, i: int, selected: bool, details: dict[str, Any]) -> dict[str, Any]:
    c = problem.candidates[i]
    value = problem.values[i]
    return {
        "reference": c.reference,
        "selected": selected,
        "cost_eur": c.cost_eur,
        "score": c.score,
        "score_max": c.score_max,
        "new_essms": c.new_essms,
        "acquisition_share": float(c.acquisition_share),
        "value": value / SCALE,
        "value_per_100k_eur": (value / SCALE) * 100_000 / c.cost_eur if c.cost_eur else None,
        "reasons": details.get("reasons", []),
        "binding": details.get("binding", []),
        "loss": None if details.get("loss") is None else details["loss"] / SCALE,
    }


# ---------------------------------------------------------------------------------------------------------------
# Campaign what-if (P-WHATIF): the same rules on a draft parameter set, never in force.

DRAFT_REFERENCE = Reference(
    "BROUILLON", "valeur de simulation", None, "Brouillon de paramètres (simulation, non en vigueur)"
)
WHATIF_UNITS = ("EUR", "count", "share")


def draft_tree(tree: ParameterTree, changes: dict[str, int | float]) -> ParameterTree:
    """A copy of `tree` where each named parameter takes the draft value on every one of its dates (regional values
    too), cited as a draft. The tree in force is left untouched."""
    files = dict(tree.files)
    for name, value in changes.items():
        parameter = tree.get(name)
        if parameter.unit not in WHATIF_UNITS:
            raise ValueError(f"{name} : seules les valeurs en euros, nombres et parts se simulent")
        file_key, _, short = name.rpartition(".")
        redated = tuple(replace(v, value=value, reference=DRAFT_REFERENCE) for v in parameter.values)
        regions = {
            region: tuple(replace(v, value=value, reference=DRAFT_REFERENCE) for v in values)
            for region, values in parameter.regions.items()
        }
        changed = replace(parameter, values=redated, regions=regions)
        files[file_key] = replace(files[file_key], parameters={**files[file_key].parameters, short: changed})
    return ParameterTree(files)
