"""The OG checklist asks the ESSMS's sector and the date (issue 12): a Prestation Ségur is ordered in the couloir of
the ESSMS's own sector (S-ELIG, sectors → couloirs), inside that couloir's order window (S-CALENDAR, SONS23
« Calendrier de dépôt des commandes »). The checklist of SONS23 §4 answers « SONS » only when both hold."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from .checklist import ChecklistAnswer
from .parameters import default_tree

CALENDAR = "sons/calendar.couloirs"
DATE = "%d/%m/%Y"
# The sectors the checklist asks, « Personnes âgées (PA) », from the sectors parameter (its latest table).
SECTOR_LABELS = {
    row["code"]: f"{row['label']} ({row['code']})" for row in default_tree().get("sectors.sectors").values[-1].value
}


def couloir_window(sector: str, on: dt.date) -> dict | None:
    """S-CALENDAR: the calendar row (couloir, windows) of the sector's couloir, as in force on `on`."""
    for row in default_tree().get(CALENDAR).in_force(on).value:
        if sector in row["sectors"]:
            return row
    return None


def with_calendar(answer: ChecklistAnswer, sector: str, on: dt.date) -> ChecklistAnswer:
    """S-CALENDAR on a « SONS » answer: after the couloir's orders closed (MS1: 10/01/2024) or before they open,
    the answer becomes « je ne peux pas / plus commander », with the dates; otherwise it says until when."""
    if answer.scheme != "sons":
        return answer
    row = couloir_window(sector, on)
    if row is None:
        return answer
    couloir, close = row["couloir"], row["orders_close"]
    forecast = " (date prévisionnelle)" if row["forecast"] else ""
    source = f"{answer.source} ; SONS23 Calendrier de dépôt des commandes, couloir {couloir} (S-CALENDAR)"
    if on > close:
        return ChecklistAnswer(
            "esms_numerique",
            f"Je ne peux plus commander de Prestation Ségur : les commandes du couloir {couloir} ont fermé le "
            f"{close:{DATE}}",
            [
                f"Le {on:{DATE}}, la fenêtre de commande du couloir {couloir} ({SECTOR_LABELS[sector]}) est fermée "
                f"depuis le {close:{DATE}}{forecast}.",
                "Je m'oriente vers l'appel à projets ESMS numérique (montée de version vers une version référencée "
                "Ségur) : je construis une grappe et je simule son financement.",
            ],
            source=source,
        )
    if row["orders_open"] and on < row["orders_open"]:
        return ChecklistAnswer(
            "esms_numerique",
            f"Les commandes du couloir {couloir} ne sont pas encore ouvertes (ouverture le "
            f"{row['orders_open']:{DATE}})",
            [f"Je prépare la commande avec l'éditeur pour la signer à partir du {row['orders_open']:{DATE}}."],
            source=source,
        )
    steps = [
        f"La commande est signée dans le couloir {couloir} ({SECTOR_LABELS[sector]}) au plus tard le "
        f"{close:{DATE}}{forecast} : l'avance ne peut plus être demandée après.",
        *answer.steps,
    ]
    return replace(answer, steps=steps, source=source)
