"""The user's API tokens and webhooks (issue 14; DECISION D-API-TOKENS, D-WEBHOOKS): create a token (POST, then a
redirect: the secret waits in the session and is shown once, by the next page, which removes it; a reload creates
nothing; the page is never cached), revoke one, register or deactivate a webhook and read its last
deliveries. Thin views over partners/tokens.py and partners/webhooks.py."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from esms_numerique.partners.models import ApiToken, Delivery, Webhook
from esms_numerique.partners.tokens import TokenError, create_token, revoke_token
from esms_numerique.partners.webhooks import WebhookError, deactivate, register

PAGE = "www:api_tokens"
ISSUED = "api_token_issued"  # the session key holding a new token's secret until the page shows it


def _context(request, **extra) -> dict:
    tokens = ApiToken.objects.filter(user=request.user)
    webhooks = list(Webhook.objects.filter(user=request.user))
    deliveries = (
        Delivery.objects.filter(webhook__user=request.user).select_related("webhook").order_by("-created_at", "-id")
    )
    return {
        "tokens": tokens,
        "webhooks": webhooks,
        "deliveries": deliveries[:20],
        "scopes": ApiToken.Scope.choices,
        **extra,
    }


def _create(request):
    expires = request.POST.get("expires_on", "").strip()
    try:
        expires_on = dt.date.fromisoformat(expires) if expires else None
        issued = create_token(request.user, request.POST.get("name", ""), request.POST.get("scope", ""), expires_on)
    except ValueError as error:  # TokenError included
        reason = str(error) if isinstance(error, TokenError) else f"date d'expiration « {expires} » illisible"
        messages.error(request, f"Jeton refusé : {reason}.")
        return redirect(PAGE)
    request.session[ISSUED] = {"secret": issued.secret, "name": issued.token.name}
    return redirect(PAGE)


def _revoke(request):
    token = ApiToken.objects.filter(user=request.user, pk=request.POST.get("token", "0")).first()
    if token is None:
        messages.error(request, "Jeton introuvable.")
    elif revoke_token(token, request.user.get_username()):
        messages.success(request, f"Jeton {token.prefix}… révoqué : il est refusé dès la requête suivante.")
    return redirect(PAGE)


def _register(request):
    try:
        register(request.user, request.POST.get("url", ""), request.POST.get("secret", ""))
    except WebhookError as error:
        messages.error(request, f"Webhook refusé : {error}.")
    else:
        messages.success(request, "Webhook enregistré : chaque événement que vous voyez y sera envoyé, signé.")
    return redirect(PAGE)


def _deactivate(request):
    webhook = Webhook.objects.filter(user=request.user, pk=request.POST.get("webhook", "0")).first()
    if webhook is None:
        messages.error(request, "Webhook introuvable.")
    else:
        deactivate(request.user, webhook)
        messages.success(request, f"Webhook {webhook.url} désactivé.")
    return redirect(PAGE)


ACTIONS = {"creer": _create, "revoquer": _revoke, "webhook": _register, "desactiver": _deactivate}


@never_cache
@login_required
def api_tokens(request):
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if not str(request.POST.get("token", "0")).isdigit() or not str(request.POST.get("webhook", "0")).isdigit():
            action = None
        if action is None or request.access.role is None:
            messages.error(request, "Action refusée : un compte sans rôle n'a pas d'accès à l'API.")
            return redirect(PAGE)
        return action(request)
    return render(request, "www/account/tokens.html", _context(request, issued=request.session.pop(ISSUED, None)))
