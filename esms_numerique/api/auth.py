"""Who calls the API: a personal token (`Authorization: Bearer esmsn_…`, DECISION D-API-TOKENS) or the browser's
session (with its CSRF token on writes). Either way the caller is a user, and what it may see and do is asked of
the one door (accounts/access.py), as for the pages. Throttles per token (or user) and per address
(DECISION D-LIMITS)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from esms_numerique.accounts.access import access_of
from esms_numerique.partners.models import ApiToken
from esms_numerique.partners.tokens import resolve
from esms_numerique.www.limits import SettingsRateThrottle

from .errors import ApiRefusal, Code

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        found = resolve(token.strip())
        if found is None:
            raise ApiRefusal(401, Code.BAD_TOKEN, "Jeton d'API inconnu, révoqué ou expiré.")
        if request.method not in SAFE_METHODS and found.scope != ApiToken.Scope.WRITE:
            raise ApiRefusal(
                403,
                Code.SCOPE,
                "Ce jeton est en lecture seule : créez un jeton de portée « ecriture » pour modifier.",
            )
        request.user = found.user
        request.access = access_of(found.user)
        request.api_token = found
        return found.user


token_auth = TokenAuth()
# A token first; without an Authorization header, the browser's session.
AUTH = [token_auth, django_auth]


class CallerRateThrottle(SettingsRateThrottle):
    """Per token (or per signed-in user for a session): `ESMS_THROTTLE_RATES["api_jeton"]`."""

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token = getattr(request, "api_token", None)
        if token is not None:
            ident = f"jeton-{token.pk}"
        elif getattr(request, "auth", None) is not None:
            ident = f"utilisateur-{request.auth.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AddressRateThrottle(SettingsRateThrottle):
    """Per client address, signed in or not: `ESMS_THROTTLE_RATES["api_adresse"]`."""

    def get_cache_key(self, request: HttpRequest) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttles() -> list:
    return [CallerRateThrottle("api_jeton"), AddressRateThrottle("api_adresse")]
