"""`esms`: the platform's command line. Rule commands need no database; others set Django up."""

from __future__ import annotations

import json
import sys

import click

from .rules.errors import InputError, parse
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
        inp = parse(SimulationInput, _read(source))
    except InputError as error:
        _fail(source, error)
    result = run(inp)
    click.echo(explain_simulation(result)) if explain else _print_json(result.as_dict())


@main.command(help="Simule une commande SONS (Prestation Ségur).")
@click.argument("source", metavar="FICHIER")
@click.option("--explain", is_flag=True, help="Trace lisible en français au lieu du JSON.")
def sons(source: str, explain: bool) -> None:
    from .rules.explain import explain_sons
    from .rules.inputs import SonsInput
    from .rules.sons import simulate_sons

    try:
        inp = parse(SonsInput, _read(source))
    except InputError as error:
        _fail(source, error)
    result = simulate_sons(inp)
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
@click.option("--on", "on", default=None, help="Date de lecture AAAA-MM-JJ (défaut : aujourd'hui).")
def params_list(on: str | None) -> None:
    import datetime as dt

    from .rules.parameters import default_tree

    date = dt.date.fromisoformat(on) if on else dt.date.today()
    for key, file in default_tree().files.items():
        click.echo(f"{key}  (valable au {file.last_value_still_valid_on:%d/%m/%Y})")
        for name, parameter in file.parameters.items():
            value = parameter.at(date) or parameter.values[0]
            shown = f"{len(value.value)} lignes" if parameter.unit == "table" else value.value
            click.echo(f"  {name} = {shown} [{parameter.unit}] — {value.reference}")
