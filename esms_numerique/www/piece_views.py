"""Replacing and removing a dossier's piece: thin views over dossiers.services (DECISION D-PIECE-VERSIONS,
docs/decisions.md). Adding one is dossier_views.dossier_piece_upload."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from esms_numerique.dossiers import services
from esms_numerique.dossiers.access import is_porteur_of
from esms_numerique.dossiers.models import Piece

from .dossier_views import visible_or_404


def _piece_or_404(request, reference: str, piece_id: int):
    """The dossier the user sees and one of its pieces (any version); a piece of another dossier does not exist
    here, and only the dossier's porteur changes its pieces."""
    dossier = visible_or_404(request.user, reference)
    piece = Piece.versions.filter(dossier=dossier, pk=piece_id).first()
    if piece is None:
        raise Http404("Pièce introuvable")
    if not is_porteur_of(request.user, dossier):
        raise PermissionDenied("Seul le porteur du dossier change ses pièces.")
    return dossier, piece


@require_POST
@login_required
def piece_replace(request, reference: str, piece_id: int):
    dossier, piece = _piece_or_404(request, reference, piece_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Remplacement refusé : choisissez un fichier.")
        return redirect("www:dossier_detail", reference=reference)
    try:
        new = services.replace_piece(request.user, dossier, piece, upload)
    except services.DossierError as error:
        messages.error(request, f"Remplacement refusé : {error}")
    else:
        messages.success(request, f"« {piece.original_name} » remplacée par « {new.original_name} ».")
    return redirect("www:dossier_detail", reference=reference)


@require_POST
@login_required
def piece_remove(request, reference: str, piece_id: int):
    dossier, piece = _piece_or_404(request, reference, piece_id)
    try:
        services.remove_piece(request.user, dossier, piece)
    except services.DossierError as error:
        messages.error(request, f"Retrait refusé : {error}")
    else:
        messages.success(request, f"Pièce « {piece.original_name} » retirée (elle reste dans l'historique).")
    return redirect("www:dossier_detail", reference=reference)
