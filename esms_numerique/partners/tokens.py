"""Personal API tokens (DECISION D-API-TOKENS, docs/decisions.md): a random secret with a recognisable prefix,
shown once, stored as its SHA-256; scoped read or read-write; expiring on a date; revocable; last use recorded.
A token acts as its user: the same access door as the pages (accounts/access.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from esms_numerique import clock
from esms_numerique.audit.services import record

from .models import ApiToken

PREFIX = "esmsn_"
# Last use is written at most once a minute per token: a partner's burst of reads writes one row.
LAST_USE_PRECISION = dt.timedelta(minutes=1)


class TokenError(ValueError):
    """A refusal in French."""


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # the whole token, shown once


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(user, name: str, scope: str, expires_on: dt.date | None, by: str = "") -> Issued:
    if scope not in ApiToken.Scope.values:
        raise TokenError(f"portée « {scope} » inconnue (valeurs possibles : lecture ou ecriture)")
    if expires_on is not None and expires_on < clock.today():
        raise TokenError(f"date d'expiration {expires_on:%d/%m/%Y} déjà passée")
    name = (name or "").strip()[:100] or "Jeton d'API"
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=secret[: len(PREFIX) + 6],
            digest=digest_of(secret),
            scope=scope,
            expires_on=expires_on,
        )
        record(
            by or user.get_username(),
            "create_api_token",
            "ApiToken",
            str(token.pk),
            after={"utilisateur": user.get_username(), "portée": scope, "expire": str(expires_on or "")},
        )
    return Issued(token, secret)


def revoke_token(token: ApiToken, by: str) -> bool:
    """False when the token was already revoked."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if changed:
            record(by, "revoke_api_token", "ApiToken", str(token.pk), after={"utilisateur": token.user.get_username()})
    token.refresh_from_db()
    return bool(changed)


def resolve(secret: str) -> ApiToken | None:
    """The active token of that secret, its last use recorded; None for an unknown, revoked or expired one."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=digest_of(secret)).first()
    if token is None or not token.active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def user_named(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TokenError(f"utilisateur « {username} » inconnu")
    return user
