"""What a user is in the programme: a role and the scope it applies to (a region, an OG, an éditeur)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .enums import Role


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField("rôle", max_length=32, choices=Role.choices)
    region = models.CharField(
        "région (code INSEE)", max_length=2, blank=True, help_text="Pour un instructeur ARS ou un observateur régional."
    )
    legal_entity = models.ForeignKey(
        "registry.LegalEntity",
        verbose_name="organisme gestionnaire",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Pour un porteur.",
    )
    editor = models.ForeignKey(
        "sons.Editor",
        verbose_name="éditeur",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Pour un utilisateur d'un éditeur (SONS).",
    )

    class Meta:
        # The table was created by the dossiers app, where profiles lived first (accounts/migrations/0001).
        db_table = "dossiers_profile"
        verbose_name = "profil"
        verbose_name_plural = "profils"

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"
