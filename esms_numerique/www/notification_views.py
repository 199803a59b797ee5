"""The user's notification choices (at once or in the daily digest, per kind) and following a dossier. Thin views
over notifications.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from esms_numerique.notifications import services
from esms_numerique.notifications.enums import Kind, Mode
from esms_numerique.notifications.models import NotificationPreference

from .dossier_views import visible_or_404


@login_required
def preferences(request):
    if request.method == "POST":
        for kind in Kind:
            mode = request.POST.get(kind.value)
            if mode in Mode.values:
                services.set_preference(request.user, kind, mode)
        messages.success(request, "Vos choix de notification sont enregistrés.")
        return redirect("www:notification_preferences")
    chosen = dict(NotificationPreference.objects.filter(user=request.user).values_list("kind", "mode"))
    rows = [(kind, chosen.get(kind.value, Mode.IMMEDIATE)) for kind in Kind if kind != Kind.RECAPITULATIF]
    return render(
        request,
        "www/notifications/preferences.html",
        {"rows": rows, "modes": Mode.choices, "email": request.user.email},
    )


def follow_state(user, dossier) -> bool | None:
    """None when the user may not follow this dossier (only instructors and observers who see it may)."""
    if request_may_follow(user):
        return services.is_following(user, dossier)
    return None


def request_may_follow(user) -> bool:
    from esms_numerique.accounts.access import access_of

    return access_of(user).role in services.FOLLOWERS


@require_POST
@login_required
def follow_toggle(request, reference: str):
    dossier = visible_or_404(request.user, reference)
    if services.is_following(request.user, dossier):
        services.unfollow(request.user, dossier)
        messages.success(request, "Vous ne suivez plus ce dossier.")
    else:
        services.follow(request.user, dossier)
        messages.success(request, "Vous suivez ce dossier : ses étapes vous seront notifiées.")
    return redirect("www:dossier_detail", reference=reference)
