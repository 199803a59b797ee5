"""The OG checklist of SONS23 (§4 « Check-list OG/ESMS »): which scheme fits my situation, and what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from .parameters import default_tree

SOURCE = "SONS23 §4 « Check-list OG/ESMS — Les questions à se poser en amont » (004_3ca1a05999d1de3a.txt)"

SITUATIONS = {
    "sans_dui": "Je ne suis pas équipé d'un DUI",
    "changer_editeur": "Je souhaite changer de fournisseur (éditeur) de DUI",
    "montee_version": "J'ai déjà un DUI et je souhaite passer à une version Ségur compatible",
}
REFERENCING = {
    "reference": "La solution est référencée Ségur par l'ANS",
    "engage": "Elle n'est pas référencée, mais l'éditeur a prévu les démarches auprès de l'ANS",
    "non_engage": "Elle n'est pas référencée et l'éditeur n'a pas prévu de la faire référencer",
}


@dataclass(frozen=True)
class ChecklistAnswer:
    scheme: str  # "esms_numerique" | "sons"
    title: str
    steps: list[str]
    warning: str = ""
    source: str = SOURCE


def sons_checklist(situation: str, referencing: str | None) -> ChecklistAnswer:
    if situation not in SITUATIONS:
        raise ValueError(f"situation inconnue « {situation} »")
    if situation in ("sans_dui", "changer_editeur"):
        return ChecklistAnswer(
            "esms_numerique",
            "Je réponds à l'appel à projets ESMS numérique (acquisition)",
            [
                "Je construis une grappe d'ESSMS et je simule son financement (acquisition, usages).",
                "Je choisis une solution référencée Ségur après mise en concurrence.",
                "Je dépose le dossier auprès de l'ARS (ou du guichet national) dans la fenêtre de la campagne.",
            ],
        )
    if referencing not in REFERENCING:
        raise ValueError("précisez si la solution de votre éditeur est référencée Ségur")
    if referencing == "non_engage":
        return ChecklistAnswer(
            "esms_numerique",
            "Je ne peux pas bénéficier du dispositif SONS",
            [
                "Je m'oriente vers le programme ESMS numérique et je change d'éditeur de DUI (acquisition).",
                "Je construis une grappe et je simule son financement.",
            ],
        )
    steps = [
        "J'indique à l'éditeur le FINESS juridique de l'OG, le nombre d'ESSMS concernés et leurs FINESS "
        "géographiques ; il remplit le bon de commande.",
        "Je vérifie et signe le bon de commande (guide de l'ANS « Comprendre les devis des éditeurs »).",
        "Je valide le calendrier de déploiement de la nouvelle version avec l'éditeur et je suis sa réalisation.",
        "Je vérifie le paramétrage et le fonctionnement de la version Ségur, puis je signe la VA.",
        "J'accompagne les professionnels à l'usage de la nouvelle version et des services socles ; je peux "
        "demander un financement à l'usage ESMS numérique (montée de version).",
    ]
    warning = ""
    if referencing == "engage":
        days = default_tree().get("sons/flow.pending_referencing_days").values[-1].value
        warning = (
            f"L'éditeur dispose de {days} jours à partir de la commande pour déposer son dossier complet de "
            "référencement auprès de l'ANS : au-delà, la commande est en risque d'annulation."
        )
    return ChecklistAnswer("sons", "Je peux bénéficier du dispositif SONS (Prestation Ségur)", steps, warning)
