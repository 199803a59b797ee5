"""The platform's FINESS registry: legal entities (OG, FINESS EJ) and establishments (ESSMS, FINESS ET)."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Concat, Upper


class Snapshot(models.Model):
    """One imported extract: its date is the date the counts of the registry are read on."""

    class Kind(models.TextChoices):
        ET = "et", "Établissements (ET)"
        EJ = "ej", "Entités juridiques (EJ)"

    kind = models.CharField("type", max_length=2, choices=Kind.choices)
    snapshot_date = models.DateField("date de l'extraction")
    source_name = models.CharField("fichier", max_length=255)
    digest = models.CharField("empreinte SHA-256", max_length=64)
    encoding = models.CharField("encodage", max_length=16)
    imported_at = models.DateTimeField("importé le", auto_now_add=True)
    imported_by = models.CharField("importé par", max_length=150)
    added = models.PositiveIntegerField("ajoutés", default=0)
    changed = models.PositiveIntegerField("modifiés", default=0)
    closed = models.PositiveIntegerField("fermés", default=0)
    unchanged = models.PositiveIntegerField("inchangés", default=0)

    class Meta:
        ordering = ["-snapshot_date", "-id"]
        verbose_name = "extraction FINESS"
        verbose_name_plural = "extractions FINESS"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} du {self.snapshot_date:%d/%m/%Y} ({self.source_name})"


class AddressFields(models.Model):
    name = models.CharField("raison sociale", max_length=255, blank=True)
    long_name = models.CharField("raison sociale longue", max_length=255, blank=True)
    name_complement = models.CharField("complément de raison sociale", max_length=255, blank=True)
    distribution_complement = models.CharField("complément de distribution", max_length=255, blank=True)
    street_number = models.CharField("numéro de voie", max_length=16, blank=True)
    street_type = models.CharField("type de voie", max_length=16, blank=True)
    street = models.CharField("voie", max_length=255, blank=True)
    street_complement = models.CharField("complément de voie", max_length=64, blank=True)
    locality = models.CharField("lieu-dit ou BP", max_length=255, blank=True)
    commune_code = models.CharField("code commune", max_length=8, blank=True)
    department = models.CharField("département (code FINESS)", max_length=3, blank=True, db_index=True)
    department_label = models.CharField("libellé du département", max_length=64, blank=True)
    postal_line = models.CharField("ligne d'acheminement", max_length=255, blank=True)
    phone = models.CharField("téléphone", max_length=32, blank=True)
    fax = models.CharField("télécopie", max_length=32, blank=True)
    region = models.CharField("région (code INSEE)", max_length=2, blank=True, db_index=True)
    updated_on = models.DateField("mise à jour FINESS", null=True, blank=True)
    # The checksum of the extract lines this row was last written from: a later import skips the lines whose
    # checksum has not changed. Any other write empties it, so that the next import compares the row again
    # (DECISION D-FINESS-FAST-IMPORT (docs/decisions.md)).
    source_digest = models.CharField("empreinte des lignes FINESS", max_length=32, blank=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.source_digest = ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "source_digest"}
        super().save(*args, **kwargs)

    @property
    def region_name(self) -> str:
        from esms_numerique.rules.geography import geography

        return geography().region_name(self.region) if self.region else "hors des 18 régions ARS"


class LegalEntity(AddressFields):
    finess_ej = models.CharField("FINESS EJ", max_length=9, unique=True)
    legal_status = models.CharField("statut juridique", max_length=8, blank=True)
    legal_status_label = models.CharField("libellé du statut juridique", max_length=255, blank=True)
    siren = models.CharField("SIREN", max_length=9, blank=True)
    ape_code = models.CharField("code APE", max_length=8, blank=True)
    created_on = models.DateField("date de création", null=True, blank=True)
    from_ej_extract = models.BooleanField(
        "décrite par une extraction EJ",
        default=False,
        help_text="Faux quand l'EJ n'est connue que par le numéro porté par ses établissements.",
    )
    snapshot = models.ForeignKey(
        Snapshot, verbose_name="extraction", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["finess_ej"]
        verbose_name = "entité juridique (OG)"
        verbose_name_plural = "entités juridiques (OG)"

    def __str__(self) -> str:
        return f"{self.finess_ej} {self.name}".strip()


class EstablishmentQuerySet(models.QuerySet):
    def open_on(self, date):
        """Establishments present in the registry on `date` (imported by then and not closed by then). The extracts
        of that date are a subquery, not a join at each row: counting the whole registry is one pass (issue 16)."""
        extracts = Snapshot.objects.filter(snapshot_date__lte=date).values("id")
        opened = self.filter(first_snapshot_id__in=extracts)
        return opened.filter(models.Q(closed_snapshot_id=None) | ~models.Q(closed_snapshot_id__in=extracts))

    def essms(self):
        """Establishments whose category is an ESSMS for the platform (a sector from the table, or corrected)."""
        return self.exclude(sector="", sector_override="")


class Establishment(AddressFields):
    finess_et = models.CharField("FINESS ET", max_length=9, unique=True)
    legal_entity = models.ForeignKey(
        LegalEntity, verbose_name="entité juridique", on_delete=models.PROTECT, related_name="establishments"
    )
    category = models.CharField("catégorie", max_length=4, blank=True, db_index=True)
    category_label = models.CharField("libellé de la catégorie", max_length=255, blank=True)
    aggregate_category = models.CharField("catégorie agrégée", max_length=4, blank=True)
    aggregate_category_label = models.CharField("libellé de la catégorie agrégée", max_length=255, blank=True)
    siret = models.CharField("SIRET", max_length=14, blank=True)
    ape_code = models.CharField("code APE", max_length=8, blank=True)
    mft_code = models.CharField("mode de fixation des tarifs", max_length=4, blank=True)
    mft_label = models.CharField("libellé MFT", max_length=255, blank=True)
    sph_code = models.CharField("code SPH", max_length=4, blank=True)
    sph_label = models.CharField("libellé SPH", max_length=255, blank=True)
    opened_on = models.DateField("date d'ouverture", null=True, blank=True)
    authorized_on = models.DateField("date d'autorisation", null=True, blank=True)
    uai = models.CharField("numéro UAI", max_length=16, blank=True)
    coord_x = models.FloatField("coordonnée X", null=True, blank=True)
    coord_y = models.FloatField("coordonnée Y", null=True, blank=True)
    coord_source = models.CharField("source des coordonnées", max_length=255, blank=True)
    coord_updated_on = models.DateField("mise à jour des coordonnées", null=True, blank=True)
    sector = models.CharField("secteur (table des catégories)", max_length=3, blank=True)
    sector_override = models.CharField("secteur corrigé", max_length=3, blank=True)
    sector_override_reason = models.TextField("motif de la correction", blank=True)
    first_snapshot = models.ForeignKey(
        Snapshot, verbose_name="première extraction", on_delete=models.PROTECT, related_name="+"
    )
    closed_snapshot = models.ForeignKey(
        Snapshot,
        verbose_name="absent depuis l'extraction",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The names a search reads, in capitals, in one column the database keeps (never written by the platform): one
    # LIKE on it costs a fifth of UPPER() of two columns at each row (DECISION D-REGISTRY-SEARCH-COUNT). The line
    # break between them is never in a search, which is one line: a search never matches across the two names.
    search_name = models.GeneratedField(
        expression=Upper(Concat("name", models.Value("\n"), "long_name")),
        output_field=models.TextField(),
        db_persist=True,
        verbose_name="noms recherchés",
    )

    objects = EstablishmentQuerySet.as_manager()

    class Meta:
        ordering = ["finess_et"]
        verbose_name = "établissement (ESSMS)"
        verbose_name_plural = "établissements (ESSMS)"

    def __str__(self) -> str:
        return f"{self.finess_et} {self.name}".strip()

    @property
    def effective_sector(self) -> str:
        return self.sector_override or self.sector
