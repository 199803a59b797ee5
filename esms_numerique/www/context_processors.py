from django.conf import settings


def site(request):
    return {
        "SITE_TITLE": settings.SITE_TITLE,
        "SITE_TAGLINE": settings.SITE_TAGLINE,
        "OIDC_PROVIDER": getattr(settings, "OIDC_PROVIDER_NAME", None) if settings.OIDC_ENABLED else None,
        # How long a signed-in session lives without a request: esms.js warns before it ends, and keeps typed text
        # through a new sign-in (DECISION D-SESSION-DRAFTS).
        "SESSION_SECONDS": settings.SESSION_COOKIE_AGE,
    }
