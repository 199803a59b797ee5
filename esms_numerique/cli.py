"""`esms`: the platform's command line. Rule commands need no database unless they complete their input from the
FINESS registry; they read the platform's date (ESMS_TODAY, D-PLATFORM-DATE) only when the input has none. Other
commands set Django up."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from .rules.errors import InputError, decode_json, parse
from .rules.parameters import ParameterError

INPUT_ERROR = 2


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        with open(source, encoding="utf-8") as stream:
            return stream.read()
    except OSError as error:
        raise click.ClickException(f"impossible de lire {source} : {error.strerror}") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{source} n'est pas un fichier texte UTF-8") from None


def _fail(source: str, error: InputError) -> None:
    click.echo(f"Entrée invalide ({'entrée standard' if source == '-' else source}) :", err=True)
    for message in error.messages:
        click.echo(f"  - {message}", err=True)
    sys.exit(INPUT_ERROR)


def _print_json(data: dict) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(help="Plateforme ESMS numérique et SONS.")
def main() -> None:
    pass


@main.command(help="Simule un projet ESMS numérique (FICHIER JSON, ou - pour l'entrée standard).")
@click.argument("source", metavar="FICHIER")
@click.option("--explain", is_flag=True, help="Trace lisible en français au lieu du JSON.")
def simulate(source: str, explain: bool) -> None:
    from .rules.explain import explain_simulation
    from .rules.inputs import SimulationInput
    from .rules.simulator import simulate as run

    try:
        data = decode_json(_read(source))
        if _needs_registry(data):
            _django()
            from esms_numerique.registry.simulation import simulate_with_registry

            result = simulate_with_registry(data)
        else:
            inp = parse(SimulationInput, data)
            result = run(inp, today=None if inp.filed_on else _platform_today())
    except InputError as error:
        _fail(source, error)
    click.echo(explain_simulation(result)) if explain else _print_json(result.as_dict())


def _needs_registry(data: dict) -> bool:
    """An ESSMS given without its sector or department is looked up in the FINESS registry."""
    essms = data.get("essms")
    return isinstance(essms, list) and any(
        isinstance(e, dict) and (not e.get("sector") or not e.get("department")) for e in essms
    )


def _sons_needs_registry(data: dict) -> bool:
    """S-ELIG reads each ordered ESSMS's sector; one the order does not describe (`essms`) is looked up."""
    from .rules.finess import normalize

    ordered, given = data.get("finess_et"), data.get("essms")
    if not isinstance(ordered, list):
        return False
    described = {
        normalize(str(e.get("finess_et", "")))
        for e in (given if isinstance(given, list) else [])
        if isinstance(e, dict) and e.get("sector")
    }
    return any(normalize(str(number)) not in described for number in ordered)


def _platform_today() -> dt.date:
    """The platform's date (esms_numerique.clock: ESMS_TODAY when pinned, else today in Paris)."""
    _django()
    from esms_numerique import clock

    return clock.today()


@main.command(help="Simule une commande SONS (Prestation Ségur) ; le secteur de chaque ESSMS vient du répertoire.")
@click.argument("source", metavar="FICHIER")
@click.option("--explain", is_flag=True, help="Trace lisible en français au lieu du JSON.")
def sons(source: str, explain: bool) -> None:
    from .rules.explain import explain_sons
    from .rules.inputs import SonsInput
    from .rules.sons import simulate_sons

    try:
        data = decode_json(_read(source))
        if _sons_needs_registry(data):
            _django()
            from django.db import DatabaseError

            from esms_numerique.registry.simulation import sons_with_registry

            try:
                result = sons_with_registry(data)
            except DatabaseError:
                raise click.ClickException(
                    "répertoire FINESS illisible (base de données non préparée : make run ou esms finess import). "
                    "Pour simuler sans le répertoire, donnez le secteur de chaque ESSMS dans « essms »."
                ) from None
        else:
            inp = parse(SonsInput, data)
            result = simulate_sons(inp, today=None if inp.ordered_on else _platform_today())
    except InputError as error:
        _fail(source, error)
    click.echo(explain_sons(result)) if explain else _print_json(result.as_dict())


@main.group(help="Paramètres datés des campagnes.")
def params() -> None:
    pass


@params.command("check", help="Charge et vérifie tous les fichiers de paramètres.")
def params_check() -> None:
    from .rules.geography import geography
    from .rules.parameters import load_tree

    try:
        tree = load_tree()
        geography(tree)
    except (ParameterError, KeyError, TypeError, ValueError) as error:
        click.echo(f"Paramètres invalides : {error}", err=True)
        sys.exit(1)
    count = sum(len(f.parameters) for f in tree.files.values())
    click.echo(f"{len(tree.files)} fichiers, {count} paramètres : conformes.")


@params.command("list", help="Liste les paramètres, leur valeur en vigueur et leur source.")
@click.option(
    "--on", "on", default=None, help="Date de lecture AAAA-MM-JJ (défaut : la date de la plateforme, ESMS_TODAY)."
)
def params_list(on: str | None) -> None:
    from .rules.parameters import default_tree

    try:
        date = dt.date.fromisoformat(on) if on else _platform_today()
    except ValueError:
        click.echo(f"Entrée invalide : --on « {on} » illisible (AAAA-MM-JJ).", err=True)
        sys.exit(INPUT_ERROR)
    for key, file in default_tree().files.items():
        click.echo(f"{key}  (valable au {file.last_value_still_valid_on:%d/%m/%Y})")
        for name, parameter in file.parameters.items():
            value = parameter.in_force(date)
            shown = f"{len(value.value)} lignes" if parameter.unit == "table" else value.value
            click.echo(f"  {name} = {shown} [{parameter.unit}] — {value.reference}")


def _django() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    django.setup()


@main.group(help="Répertoire FINESS.")
def finess() -> None:
    pass


@finess.command("import", help="Importe une extraction FINESS (établissements), et son extraction EJ.")
@click.argument("et_file", metavar="FICHIER", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--ej", "ej_file", type=click.Path(exists=True, dir_okay=False), help="Extraction des entités juridiques."
)
def finess_import(et_file: str, ej_file: str | None) -> None:
    from pathlib import Path

    _django()
    from esms_numerique.registry.extract import ExtractError
    from esms_numerique.registry.services import import_extracts

    et_path = Path(et_file)
    et_data = et_path.read_bytes()
    ej_data = Path(ej_file).read_bytes() if ej_file else None
    total = et_data.count(b"\n") + (ej_data.count(b"\n") if ej_data else 0)
    with click.progressbar(length=total * 2, label="Import FINESS", file=sys.stderr) as bar:
        try:
            report = import_extracts(
                et_path.name,
                et_data,
                Path(ej_file).name if ej_file else None,
                ej_data,
                actor="esms finess import",
                progress=bar.update,
            )
        except ExtractError as error:
            click.echo("", err=True)
            click.echo(f"Import refusé, le répertoire est inchangé : {error}", err=True)
            sys.exit(INPUT_ERROR)
        bar.update(total * 2)
    click.echo(report.summary())


@main.group(help="Données de démonstration (synthétiques).")
def demo() -> None:
    pass


@demo.command("generate", help="Écrit des extractions FINESS synthétiques au format DREES/etalab.")
@click.option("--scale", type=click.Choice(["small", "national"]), default="small", show_default=True)
@click.option("--out", "out", type=click.Path(file_okay=False), default="var/demo", show_default=True)
@click.option("--seed", type=int, default=2024, show_default=True)
@click.option("--legacy", is_flag=True, help="Ancien format : Windows-1252 et dates jj/mm/aaaa.")
def demo_generate(scale: str, out: str, seed: int, legacy: bool) -> None:
    from pathlib import Path

    from esms_numerique.registry.demo import generate

    files = generate(Path(out), scale, seed=seed, legacy=legacy)
    click.echo(f"{files.essms} ESSMS synthétiques sous {files.ogs} OG : {files.et} et {files.ej}")


@demo.command("load", help="Charge la démonstration locale : répertoire synthétique et comptes de démonstration.")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default="var/demo", show_default=True)
@click.option(
    "--scale",
    type=click.Choice(["small", "national"]),
    default="small",
    show_default=True,
    help="national : répertoire national, environ 1 400 dossiers dans les 18 régions (base sans dossier).",
)
@click.option(
    "--dossiers", "count", type=click.IntRange(22), default=None, help="Nombre de dossiers (national : 1 400)."
)
def demo_load(directory: str, scale: str, count: int | None) -> None:
    from pathlib import Path

    _django()
    if scale == "small":
        if count is not None:
            raise click.UsageError("--dossiers ne vaut que pour --scale national.")
        from esms_numerique.demo_load import load_demo

        for line in load_demo(Path(directory)):
            click.echo(line)
        return
    from esms_numerique import demo_national

    files = demo_national.national_registry(Path(directory))
    total = files.et.read_bytes().count(b"\n") + files.ej.read_bytes().count(b"\n")
    with click.progressbar(length=total * 2, label="Import FINESS", file=sys.stderr) as bar:
        click.echo(demo_national.import_registry(files, bar.update), err=True)
        bar.update(total * 2)
    count = count or demo_national.NATIONAL_DOSSIERS
    with click.progressbar(length=count, label="Dossiers", file=sys.stderr) as bar:
        lines = demo_national.load_dossiers(count, bar.update)
    for line in lines:
        click.echo(line)


@main.group(help="Journal d'audit.")
def audit() -> None:
    pass


@audit.command("verify", help="Vérifie le journal d'audit : chaîne, empreintes à clé et ancres quotidiennes.")
def audit_verify() -> None:
    _django()
    from esms_numerique.audit.services import verify

    report = verify()
    for problem in report.problems:
        click.echo(f"  - {problem}", err=True)
    if report.problems:
        click.echo("Journal d'audit altéré.", err=True)
        sys.exit(1)
    click.echo("Journal d'audit intact.")
    anchored = f"dernière ancre du {report.last_anchor}" if report.anchors else "aucune ancre (esms audit ancrer)"
    click.echo(f"{report.entries} entrée(s), {report.anchors} ancre(s) vérifiée(s), {anchored}.", err=True)


@audit.command(
    "ancrer",
    help="Écrit dans AUDIT_ANCHOR_DIR l'ancre signée du jour (dernière entrée et son empreinte), hors de la base.",
)
def audit_anchor() -> None:
    _django()
    from esms_numerique.audit.services import write_anchor

    try:
        path, anchor = write_anchor()
    except ValueError as error:
        click.echo(f"Journal d'audit altéré, rien n'est ancré : {error}", err=True)
        sys.exit(1)
    # Printed too: the scheduler's mail keeps a copy of each anchor away from the machine.
    click.echo(json.dumps(anchor, ensure_ascii=False))
    click.echo(f"Ancre écrite : {path}", err=True)


@main.group(help="Registre des ESSMS financés (un FINESS géographique, un financement).")
def registre() -> None:
    pass


@registre.command("reconstruire", help="Réécrit le registre à partir des dossiers et des commandes SONS.")
def registre_rebuild() -> None:
    _django()
    from esms_numerique.ledger_rebuild import rebuild

    dossiers, orders = rebuild(progress=True)
    click.echo(f"Registre reconstruit : {dossiers} dossiers, {orders} commandes SONS.")


@main.group(help="Indicateurs d'usage (U-*), calculés là où vivent les données du DUI.")
def indicateurs() -> None:
    pass


@indicateurs.command(
    "calculer", help="Calcule les indicateurs U-* d'un export DUI (dossier de fichiers CSV ou Parquet)."
)
@click.argument("directory", metavar="DOSSIER", type=click.Path(exists=True, file_okay=False))
@click.option("--date", "measurement_date", required=True, help="Date de mesure AAAA-MM-JJ.")
@click.option(
    "--window-months",
    type=click.IntRange(1, 12),
    default=None,
    help="Mois de la fenêtre (défaut : celui de la campagne).",
)
@click.option("--campaign", default="2024", show_default=True, help="Campagne dont les cibles s'appliquent.")
@click.option(
    "--monthly-from",
    default=None,
    help="Série mensuelle : une mesure à chaque fin de mois depuis le mois de cette date AAAA-MM-JJ (D-USAGE-SERIES).",
)
@click.option(
    "--file-active-year",
    type=click.IntRange(2000, 2100),
    default=None,
    help="Année de la file active CNSA (défaut : dernière année complète, D-FILE-ACTIVE).",
)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Écrit le résultat JSON ici.")
def indicateurs_calculer(
    directory: str,
    measurement_date: str,
    window_months: int | None,
    campaign: str,
    monthly_from: str | None,
    file_active_year: int | None,
    out: str | None,
) -> None:
    from pathlib import Path

    from .indicators.compute import ExportError, Targets, compute_indicators
    from .rules.context import CampaignContext, UnknownCampaign

    dates = {}
    for option, value in (("--date", measurement_date), ("--monthly-from", monthly_from)):
        try:
            dates[option] = dt.date.fromisoformat(value) if value else None
        except ValueError:
            click.echo(f"Entrée invalide : {option} « {value} » illisible (AAAA-MM-JJ).", err=True)
            sys.exit(INPUT_ERROR)
    on, series_from = dates["--date"], dates["--monthly-from"]
    if series_from and series_from > on:
        click.echo(f"Entrée invalide : --monthly-from {series_from:%d/%m/%Y} est après la date de mesure.", err=True)
        sys.exit(INPUT_ERROR)
    try:
        context = CampaignContext(campaign, on)
    except UnknownCampaign:
        click.echo(f"Entrée invalide : campagne inconnue « {campaign} ».", err=True)
        sys.exit(INPUT_ERROR)
    targets = Targets(
        **{
            name: context.get(f"usage_targets.{name}").value
            for name in ("active_rate", "pp_rate", "agenda_rate", "mss_rate", "dmp_rate")
        }
    )
    months = window_months or context.get("usage_targets.window_months").value
    try:
        result = compute_indicators(
            Path(directory),
            on,
            targets,
            months,
            monthly_from=series_from,
            # D-USAGE-SERIES: a campaign without a monthly period gives a rolling series over its own window.
            series_window_months=(
                context.get("usage_targets.series_window_months").value
                if context.has("usage_targets.series_window_months")
                else months
            ),
            file_active_in=file_active_year,
        )
    except ExportError as error:
        click.echo(f"Export refusé, aucun résultat : {error}", err=True)
        sys.exit(INPUT_ERROR)
    result["campaign"] = campaign
    if out:
        Path(out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        click.echo(f"Résultat écrit dans {out}.")
    else:
        _print_json(result)


@demo.command("dui-export", help="Écrit un export DUI synthétique au format canonique (réponses connues).")
@click.option("--dossiers", type=click.IntRange(1), required=True)
@click.option("--establishments", type=click.IntRange(1), default=50, show_default=True)
@click.option("--events-per-dossier", type=click.IntRange(1), default=10, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True)
@click.option("--out", "out", type=click.Path(file_okay=False), default="var/dui-export", show_default=True)
@click.option(
    "--with-optional", is_flag=True, help="Écrit aussi les fichiers facultatifs e-prescription et e-parcours."
)
def demo_dui_export(
    dossiers: int, establishments: int, events_per_dossier: int, fmt: str, out: str, with_optional: bool
) -> None:
    from pathlib import Path

    from .indicators.demo import MEASUREMENT_DATE, generate

    sizes = generate(Path(out), dossiers, establishments, events_per_dossier, fmt, optional=with_optional)
    click.echo(
        f"{sizes['dossiers']} dossiers, {sizes['agenda']} événements d'agenda dans {out} "
        f"(date de mesure prévue : {MEASUREMENT_DATE:%d/%m/%Y})."
    )


@main.group(help="Notifications par courriel : envoi, rappels d'échéance, récapitulatif quotidien.")
def notifications() -> None:
    pass


@notifications.command("envoyer", help="Envoie les courriels en attente (un worker arrêté, un serveur qui a refusé).")
def notifications_send() -> None:
    _django()
    from esms_numerique.notifications.services import send_pending

    counts = send_pending()
    shown = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "rien à envoyer"
    click.echo(f"Courriels : {shown}.")


@notifications.command("rappels", help="Écrit et envoie les rappels d'échéance du jour (une fois par échéance).")
@click.option("--date", "on", default=None, help="Date AAAA-MM-JJ (défaut : la date de la plateforme, ESMS_TODAY).")
def notifications_reminders(on: str | None) -> None:
    try:
        date = dt.date.fromisoformat(on) if on else _platform_today()
    except ValueError:
        click.echo(f"Entrée invalide : --date « {on} » illisible (AAAA-MM-JJ).", err=True)
        sys.exit(INPUT_ERROR)
    _django()
    from esms_numerique.notifications.reminders import run

    counts = run(date)
    click.echo(f"Rappels du {date:%d/%m/%Y} : " + ", ".join(f"{name} {count}" for name, count in counts.items()) + ".")


@notifications.command("recapitulatif", help="Envoie à chacun le récapitulatif quotidien de ses notifications.")
def notifications_digest() -> None:
    _django()
    from esms_numerique.notifications.services import send_digests

    click.echo(f"Récapitulatifs envoyés : {send_digests()}.")


# Selection (issue 13): `esms comite proposer`, `esms portefeuille rejouer`.
from .selection.cli import comite, portefeuille  # noqa: E402

main.add_command(comite)
main.add_command(portefeuille)


# `esms api jeton creer|revoquer|lister`, `esms api webhooks relancer` (issue 14, partners/cli.py).
from esms_numerique.partners.cli import api as _api_group  # noqa: E402

main.add_command(_api_group)
