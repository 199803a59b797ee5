"""Synthetic FINESS extracts in the real layout, for demos, tests and benchmarks. Every name says it is
synthetic (« DONNÉES SYNTHÉTIQUES »); numbers have valid keys but designate no real establishment.

Scale « national » is close to the programme (SPEC §6): about 36 500 ESSMS under about 10 000 OGs in the 18
regions and 101 departments, 22 % PA, OG sizes from 1 to several hundred, plus hospitals and other non-ESSMS
as the real extract has them. Scale « small » is a few hundred lines for tests and the local demo.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from stdnum import luhn

from esms_numerique.rules.finess import with_key
from esms_numerique.rules.geography import geography

from .extract import GEOLOCALISATION, STRUCTUREEJ, STRUCTUREET

SYNTHETIC = "DONNÉES SYNTHÉTIQUES"
# Category, label, aggregate category, its label, share of the ESSMS drawn (PA ≈ 22 %).
CATEGORIES = [
    ("500", "Etablissement d'hébergement pour personnes âgées dépendantes", "4401", "Hébergement PA", 0.17),
    ("202", "Résidence autonomie", "4401", "Hébergement PA", 0.03),
    ("207", "Centre de jour pour personnes âgées", "4401", "Hébergement PA", 0.02),
    ("354", "Service de soins infirmiers à domicile", "4402", "Maintien à domicile PA", 0.06),
    ("460", "Service d'aide et d'accompagnement à domicile", "4402", "Maintien à domicile PA", 0.09),
    ("209", "Service polyvalent d'aide et de soins à domicile", "4402", "Maintien à domicile PA", 0.02),
    ("183", "Institut médico-éducatif", "4101", "Enfance handicapée", 0.06),
    ("182", "Service d'éducation spéciale et de soins à domicile", "4106", "Services à domicile handicap", 0.06),
    ("189", "Centre médico-psycho-pédagogique", "4101", "Enfance handicapée", 0.02),
    ("246", "Etablissement et service d'aide par le travail", "4301", "Adultes handicapés", 0.06),
    ("255", "Maison d'accueil spécialisée", "4301", "Adultes handicapés", 0.03),
    ("437", "Foyer d'accueil médicalisé", "4301", "Adultes handicapés", 0.03),
    ("446", "Service d'accompagnement à la vie sociale", "4305", "Services à domicile handicap", 0.04),
    (
        "197",
        "Centre de soins, d'accompagnement et de prévention en addictologie",
        "4601",
        "Adultes et familles en difficulté",
        0.03,
    ),
    ("165", "Appartement de coordination thérapeutique", "4601", "Adultes et familles en difficulté", 0.02),
    ("177", "Maison d'enfants à caractère social", "4501", "Protection de l'enfance", 0.07),
    ("214", "Centre d'hébergement et de réinsertion sociale", "4601", "Adultes et familles en difficulté", 0.06),
    ("443", "Centre d'accueil de demandeurs d'asile", "4602", "Autres établissements sociaux d'hébergement", 0.03),
    ("340", "Service mandataire judiciaire à la protection des majeurs", "4608", "Protection des majeurs", 0.06),
]
NON_ESSMS = [
    ("355", "Centre hospitalier", "1102", "Centres hospitaliers"),
    ("124", "Centre de santé", "2202", "Centres de santé"),
]
STREETS = ["des Tilleuls", "de la Gare", "Jean Jaurès", "Victor Hugo", "des Écoles", "du Moulin", "Pasteur"]
NAMES = ["Les Tilleuls", "Le Clos Fleuri", "La Roseraie", "Les Genêts", "L'Horizon", "Le Phare", "Les Oliviers"]


@dataclass(frozen=True)
class Scale:
    essms: int
    og_sizes: tuple[tuple[float, int, int], ...]  # (share of OGs, smallest, largest)
    non_essms_share: float
    # An OG of this size, all in Ille-et-Vilaine, drawn first: the local demo's porteur, whose dossiers need
    # distinct ESSMS (one funding per ESSMS).
    anchor_og: int = 0


SCALES = {
    "national": Scale(
        36_500, ((0.72, 1, 1), (0.165, 2, 4), (0.07, 5, 10), (0.028, 11, 19), (0.015, 20, 99), (0.002, 100, 400)), 0.03
    ),
    "small": Scale(
        400, ((0.55, 1, 1), (0.2, 2, 4), (0.12, 5, 10), (0.08, 11, 19), (0.05, 20, 60)), 0.15, anchor_og=150
    ),
}


@dataclass
class DemoFiles:
    et: Path
    ej: Path
    essms: int
    ogs: int
    lines: int


def _siret(rng: random.Random) -> str:
    siren = str(rng.randrange(10**7, 10**8))
    siren += luhn.calc_check_digit(siren)
    head = siren + f"{rng.randrange(1, 9999):04d}"
    return head + luhn.calc_check_digit(head)


class _Numbers:
    """Distinct FINESS numbers per department, ET and EJ drawn from separate ranges."""

    def __init__(self):
        self.next: Counter[str] = Counter()

    def draw(self, department: str, prefix: str, ej: bool) -> str:
        width = 8 - len(prefix)
        base = 0 if ej else 10 ** (width - 1) * 5
        serial = base + self.next[(department, ej)]
        self.next[(department, ej)] += 1
        return with_key(f"{prefix}{serial:0{width}d}")


def _og_sizes(rng: random.Random, scale: Scale) -> list[int]:
    sizes = [scale.anchor_og] if scale.anchor_og else []
    total = scale.anchor_og
    bands = scale.og_sizes
    while total < scale.essms:
        _share, low, high = rng.choices(bands, weights=[b[0] for b in bands])[0]
        size = min(rng.randint(low, high), scale.essms - total)
        sizes.append(size)
        total += size
    return sizes


def generate(
    out: Path,
    scale_name: str = "small",
    seed: int = 2024,
    snapshot: dt.date = dt.date(2024, 1, 3),
    legacy: bool = False,
) -> DemoFiles:
    """Writes `…-stock-…csv` (ET) and `…-ej-…csv` (EJ) in `out`. `legacy`: Windows-1252 and dd/mm/yyyy."""
    scale = SCALES[scale_name]
    rng = random.Random(seed)
    geo = geography()
    departments = sorted(geo.departments.values(), key=lambda d: d.code)
    weights = [4 if d.code in ("59", "75", "13", "69", "33", "31", "44", "35") else 1 for d in departments]
    numbers = _Numbers()
    encoding = "cp1252" if legacy else "utf-8"

    def day(value: dt.date) -> str:
        return value.strftime("%d/%m/%Y") if legacy else value.isoformat()

    def prefix_of(department) -> tuple[str, str]:
        code = department.finess_code or department.code
        return code, department.finess_prefix or department.code

    et_lines, ej_lines = [], []
    essms_count = 0
    sizes = _og_sizes(rng, scale)
    for og_index, size in enumerate(sizes):
        anchored = og_index == 0 and scale.anchor_og > 0
        home = geo.departments["35"] if anchored else rng.choices(departments, weights=weights)[0]
        home_code, home_prefix = prefix_of(home)
        finess_ej = numbers.draw(home.code, home_prefix, ej=True)
        og_name = f"ASSOCIATION {NAMES[og_index % len(NAMES)].upper()} {og_index + 1}"
        siret = _siret(rng)
        ej_lines.append(
            [
                "structureej",
                finess_ej,
                og_name[:38],
                f"{og_name} ({SYNTHETIC})",
                SYNTHETIC,
                "",
                str(rng.randint(1, 120)),
                "RUE",
                STREETS[og_index % len(STREETS)].upper(),
                "",
                "",
                f"{rng.randint(1, 999):03d}",
                home_code,
                home.name.upper(),
                f"{home.code[:2]}000 VILLE SYNTHETIQUE",
                "",
                "",
                "60",
                "Association loi 1901 non reconnue d'utilité publique",
                siret[:9],
                "8810C",
                day(dt.date(1950 + og_index % 70, 1, 1)),
                day(snapshot),
            ]
        )
        extra = 1 if rng.random() < scale.non_essms_share else 0
        for index in range(size + extra):
            stays_home = anchored or size < 20 or rng.random() < 0.85
            department = home if stays_home else rng.choices(departments, weights=weights)[0]
            code, prefix = prefix_of(department)
            finess_et = numbers.draw(department.code, prefix, ej=False)
            if index < size:
                category, label, aggregate, aggregate_label, _ = rng.choices(
                    CATEGORIES, weights=[c[4] for c in CATEGORIES]
                )[0]
                essms_count += 1
            else:
                category, label, aggregate, aggregate_label = rng.choice(NON_ESSMS)
            name = f"{label.split()[0].upper()} {NAMES[(og_index + index) % len(NAMES)].upper()}"
            opened = dt.date(1970 + rng.randrange(50), rng.randint(1, 12), rng.randint(1, 28))
            et_lines.append(
                [
                    "structureet",
                    finess_et,
                    finess_ej,
                    name[:38],
                    f"{name} ({SYNTHETIC})",
                    SYNTHETIC,
                    "",
                    str(rng.randint(1, 200)),
                    "AV",
                    STREETS[index % len(STREETS)].upper(),
                    "",
                    "",
                    f"{rng.randint(1, 999):03d}",
                    code,
                    department.name.upper(),
                    f"{department.code[:2]}{rng.randint(0, 999):03d} VILLE SYNTHETIQUE",
                    "",
                    "",
                    category,
                    label,
                    aggregate,
                    aggregate_label,
                    _siret(rng),
                    "8710A",
                    "34",
                    "ARS/CD tarif global",
                    "",
                    "",
                    day(opened),
                    day(opened),
                    day(snapshot),
                    "",
                ]
            )
            et_lines.append(
                [
                    "geolocalisation",
                    finess_et,
                    f"{rng.uniform(100000, 1200000):.1f}",
                    f"{rng.uniform(6000000, 7100000):.1f}",
                    "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93",
                    day(snapshot),
                ]
            )
    assert all(len(line) == len(STRUCTUREET) for line in et_lines if line[0] == "structureet")
    assert all(len(line) == len(GEOLOCALISATION) for line in et_lines if line[0] == "geolocalisation")
    assert all(len(line) == len(STRUCTUREEJ) for line in ej_lines)
    out.mkdir(parents=True, exist_ok=True)
    stamp = snapshot.strftime("%Y%m%d")
    et_path = out / f"synthetique-etalab-cs1100507-stock-{stamp}-0000.csv"
    ej_path = out / f"synthetique-etalab-cs1100501-ej-{stamp}-0000.csv"
    metadata = f"finess;etalab;0;{day(snapshot)}"
    for path, lines in ((et_path, et_lines), (ej_path, ej_lines)):
        text = "\n".join([metadata, *(";".join(line) for line in lines)]) + "\n"
        path.write_bytes(text.encode(encoding))
    return DemoFiles(et_path, ej_path, essms_count, len(sizes), len(et_lines) + 1)
