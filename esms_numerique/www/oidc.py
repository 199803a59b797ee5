"""ProConnect-style OpenID Connect login: accounts keyed by e-mail, created without any role."""

from __future__ import annotations

from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from esms_numerique.audit.services import record


class ProConnectBackend(OIDCAuthenticationBackend):
    def create_user(self, claims):
        email = claims.get("email", "")
        user = self.UserModel.objects.create_user(username=email, email=email)
        user.first_name = claims.get("given_name", "")[:150]
        user.last_name = claims.get("usual_name", claims.get("family_name", ""))[:150]
        user.save()
        record("oidc", "create_account", "User", email, after={"source": "OpenID Connect"})
        return user
