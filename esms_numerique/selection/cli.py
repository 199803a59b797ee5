"""Selection commands (issue 13): a committee's optimal proposal, and a campaign replayed through the rules core on
the parameters in force or on a draft (P-PROPOSAL, P-WHATIF; docs/decisions.md, DECISION D-WHATIF-DRAFT).

    esms comite proposer COMITE_ID [--json] [--utilisateur IDENTIFIANT]
    esms portefeuille rejouer --campagne 2024 [--parametres brouillon.yaml] [--json]

Registered on the `esms` group by esms_numerique/cli.py."""

from __future__ import annotations

import json
import sys

import click

INPUT_ERROR = 2


def _django() -> None:
    from esms_numerique.cli import _django as setup

    setup()


def _refuse(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(INPUT_ERROR)


def _euros(amount: int | None) -> str:
    return "—" if amount is None else f"{amount:,d} €".replace(",", "\u202f")


@click.group(help="Comités de sélection.")
def comite() -> None:
    pass


@comite.command(
    "proposer",
    help="Calcule et enregistre la proposition optimale sous l'enveloppe du comité COMITE_ID (réglages par défaut "
    "des paramètres datés ; P-PROPOSAL).",
)
@click.argument("committee_id", metavar="COMITE_ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Résultat en JSON.")
@click.option(
    "--utilisateur",
    "username",
    default=None,
    help="Instructeur au nom de qui la proposition est calculée (défaut : celui qui a créé le comité).",
)
def comite_proposer(committee_id: int, as_json: bool, username: str | None) -> None:
    _django()
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    from esms_numerique.dossiers.models import Committee
    from esms_numerique.rules import selection as rules
    from esms_numerique.selection import services

    committee = Committee.objects.filter(pk=committee_id).select_related("created_by").first()
    if committee is None:
        _refuse(f"Entrée invalide : aucun comité n° {committee_id}.")
    user = committee.created_by
    if username is not None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            _refuse(f"Entrée invalide : --utilisateur « {username} » inconnu.")
    settings, _ = rules.default_settings(committee.date)
    try:
        proposal = services.make_proposal(user, committee, settings)
    except PermissionDenied as error:
        _refuse(f"Refusé : {error}")
    except services.SelectionError as error:
        _refuse(str(error))
    result = proposal.result
    summary = {
        "committee": committee.pk,
        "proposal": proposal.pk,
        "status": result["status"],
        "envelope_eur": result["envelope_eur"],
        "engaged_eur": result["engaged_eur"],
        "available_eur": result["available_eur"],
        "selected": result["selected"],
        "total_eur": result["total_eur"],
        "objective": result["objective"],
        "bound": result["bound"],
        "gap": result["gap"],
        "proven_gap": result.get("proven_gap"),
        "infeasibility": result.get("infeasibility", []),
        "set_aside": result.get("set_aside", []),
    }
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(f"Comité « {committee.label} » du {committee.date:%d/%m/%Y} — proposition n° {proposal.pk}")
    click.echo(
        f"Enveloppe {_euros(result['envelope_eur'])}, déjà engagé {_euros(result['engaged_eur'])}, "
        f"disponible {_euros(result['available_eur'])}."
    )
    if result["status"] == "infeasible":
        for line in result["infeasibility"]:
            click.echo(line)
        sys.exit(1)
    click.echo(
        f"{len(result['selected'])} dossier(s) proposé(s) pour {_euros(result['total_eur'])} : "
        f"{', '.join(result['selected']) or 'aucun'}."
    )
    gap = "" if result["gap"] is None else f", écart {result['gap'] * 100:.3f} %".replace(".", ",")
    click.echo(f"Objectif {result['objective']:.2f}, borne de la relaxation linéaire {result['bound']:.2f}{gap}.")


@click.group(help="Portefeuille de dossiers d'une campagne.")
def portefeuille() -> None:
    pass


@portefeuille.command(
    "rejouer",
    help="Rejoue chaque dossier déposé de la campagne dans le cœur des règles, sur les paramètres en vigueur ou sur "
    "un brouillon (P-WHATIF) ; rien n'est écrit.",
)
@click.option("--campagne", "campaign", required=True, help="Campagne, par exemple 2024.")
@click.option(
    "--parametres",
    "draft",
    type=click.Path(dir_okay=False),
    default=None,
    help="Brouillon YAML (table « valeurs: » paramètre: valeur). Sans lui, toutes les différences valent 0.",
)
@click.option("--json", "as_json", is_flag=True, help="Résultat en JSON.")
def portefeuille_rejouer(campaign: str, draft: str | None, as_json: bool) -> None:
    from esms_numerique.rules.context import available_campaigns

    if campaign not in available_campaigns():
        _refuse(f"Entrée invalide : --campagne « {campaign} » inconnue ({', '.join(available_campaigns())}).")
    text = None
    if draft is not None:
        try:
            with open(draft, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            _refuse(f"Entrée invalide : impossible de lire {draft} : {error.strerror}.")
        except UnicodeDecodeError:
            _refuse(f"Entrée invalide : {draft} n'est pas un fichier texte UTF-8.")
    _django()
    from esms_numerique.dossiers.models import Dossier
    from esms_numerique.selection import services

    changes = {}
    if text is not None:
        try:
            changes = services.read_draft(text, campaign, draft)
        except services.SelectionError as error:
            _refuse(f"Entrée invalide : {error}")
    total = Dossier.objects.filter(campaign=campaign).exclude(filed_at=None).count()
    with click.progressbar(length=total, label=f"Campagne {campaign}", file=sys.stderr) as bar:
        result = services.replay(campaign, changes, progress=bar.update)
    if as_json:
        shown = {
            "campaign": result["campaign"],
            "changes": result["changes"],
            "dossiers": result["dossiers"],
            "total_before_eur": result["total_before_eur"],
            "total_after_eur": result["total_after_eur"],
            "difference_eur": result["total_after_eur"] - result["total_before_eur"],
            "changed": [row["reference"] for row in result["changed"]],
            "changed_details": result["changed"],
            "by_region": result["by_region"],
            "skipped": result["skipped"],
        }
        click.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    difference = result["total_after_eur"] - result["total_before_eur"]
    click.echo(
        f"Campagne {campaign} : {result['dossiers']} dossier(s) rejoué(s) — "
        f"avant {_euros(result['total_before_eur'])}, après {_euros(result['total_after_eur'])}, "
        f"différence {_euros(difference)}."
    )
    for row in result["by_region"]:
        desk = "national" if row["desk"] == "national" else f"région {row['region']} {row['name']}"
        click.echo(f"  {desk} : {row['dossiers']} dossier(s), différence {_euros(row['difference'])}")
    for row in result["changed"]:
        verdict = ""
        if row["admissible_before"] != row["admissible_after"]:
            verdict = " ; recevable → " + ("oui" if row["admissible_after"] else "non")
        click.echo(f"  {row['reference']} : {_euros(row['before_eur'])} → {_euros(row['after_eur'])}{verdict}")
    for row in result["skipped"]:
        click.echo(f"  {row['reference']} non rejoué : {row['why']}", err=True)
