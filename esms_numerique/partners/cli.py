"""`esms api …`: personal API tokens and the webhooks' retries from the command line (DECISION D-API-TOKENS).
Registered on the main command by esms_numerique/cli.py."""

from __future__ import annotations

import datetime as dt
import sys

import click

INPUT_ERROR = 2


def _django() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    django.setup()


def _refuse(message: str) -> None:
    click.echo(f"Entrée invalide : {message}.", err=True)
    sys.exit(INPUT_ERROR)


@click.group(help="API des partenaires : jetons personnels, webhooks.")
def api() -> None:
    pass


@api.group(help="Jetons d'API personnels (montrés une seule fois, conservés sous forme d'empreinte).")
def jeton() -> None:
    pass


@jeton.command("creer", help="Crée un jeton ; il est écrit seul sur la dernière ligne, une seule fois.")
@click.option("--utilisateur", required=True, help="Identifiant de l'utilisateur pour qui le jeton agit.")
@click.option("--portee", required=True, type=click.Choice(["lecture", "ecriture"]), help="lecture ou ecriture")
@click.option("--expire", default=None, help="Dernier jour de validité, AAAA-MM-JJ (défaut : sans expiration).")
@click.option("--nom", default="Jeton créé en ligne de commande", help="Nom pour le reconnaître.")
def jeton_creer(utilisateur: str, portee: str, expire: str | None, nom: str) -> None:
    try:
        expires_on = dt.date.fromisoformat(expire) if expire else None
    except ValueError:
        _refuse(f"--expire « {expire} » illisible (AAAA-MM-JJ)")
    _django()
    from .tokens import TokenError, create_token, user_named

    try:
        issued = create_token(user_named(utilisateur), nom, portee, expires_on, by="esms api jeton creer")
    except TokenError as error:
        _refuse(str(error))
    token = issued.token
    until = f"jusqu'au {token.expires_on:%d/%m/%Y}" if token.expires_on else "sans expiration"
    click.echo(
        f"Jeton n° {token.pk} pour {utilisateur}, portée {portee}, {until}. Conservez-le : il ne sera plus montré."
    )
    click.echo(issued.secret)


@jeton.command("revoquer", help="Révoque un jeton (par son numéro) : il est refusé dès la requête suivante.")
@click.argument("numero", type=int)
def jeton_revoquer(numero: int) -> None:
    _django()
    from .models import ApiToken
    from .tokens import revoke_token

    token = ApiToken.objects.select_related("user").filter(pk=numero).first()
    if token is None:
        _refuse(f"jeton n° {numero} inconnu")
    done = revoke_token(token, "esms api jeton revoquer")
    click.echo(f"Jeton n° {numero} révoqué." if done else f"Jeton n° {numero} déjà révoqué.")


@jeton.command("lister", help="Liste les jetons (jamais leur secret).")
@click.option("--utilisateur", default=None, help="Seulement ceux de cet utilisateur.")
def jeton_lister(utilisateur: str | None) -> None:
    _django()
    from .models import ApiToken

    tokens = ApiToken.objects.select_related("user").order_by("pk")
    if utilisateur:
        tokens = tokens.filter(user__username=utilisateur)
    for token in tokens:
        state = "révoqué" if token.revoked_at else "expiré" if token.expired else "actif"
        used = f"{token.last_used_at:%d/%m/%Y %H:%M}" if token.last_used_at else "jamais"
        expires = f"{token.expires_on:%d/%m/%Y}" if token.expires_on else "—"
        click.echo(
            f"{token.pk}\t{token.user.get_username()}\t{token.prefix}…\t{token.scope}\t{state}\t"
            f"expire {expires}\tutilisé {used}\t{token.name}"
        )


@api.group(help="Webhooks des partenaires.")
def webhooks() -> None:
    pass


@webhooks.command("relancer", help="Fait les nouveaux essais de livraison arrivés à échéance.")
def webhooks_relancer() -> None:
    _django()
    from .webhooks import retry_due

    click.echo(f"Livraisons essayées : {retry_due()}.")
