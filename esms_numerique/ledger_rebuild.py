"""Rewrites the ledger of funded ESSMS from the dossiers and SONS orders (data created before the ledger existed;
docs/decisions.md, D-LEDGER). Lives beside the apps, not in the ledger, which knows neither dossiers nor orders."""

from __future__ import annotations

import click
from django.db import transaction

from esms_numerique.dossiers.evaluation import record_ledger as record_dossier
from esms_numerique.dossiers.models import Dossier
from esms_numerique.sons.models import Order
from esms_numerique.sons.services import record_ledger as record_order


def rebuild(progress: bool = False, actor: str = "esms registre reconstruire") -> tuple[int, int]:
    """All or nothing: one transaction. Decided dossiers are written before the others so that a held funding is
    never refused by the order of the rows. The follow-up's summary, which reads the funded ESSMS, is rewritten with
    them (DECISION D-FOLLOW-UP-SUMMARY). Audited, in the same transaction, like every change of data: the pages kept
    under the audit log's last change (D-COMMITTEE-FIGURES-CACHE, D-DOSSIER-PAGE-CACHE) are made again."""
    from esms_numerique.audit.services import record
    from esms_numerique.indicators.summary import refresh_all

    dossiers = list(Dossier.objects.order_by("id"))
    orders = list(Order.objects.order_by("id"))
    with transaction.atomic():
        with click.progressbar(dossiers, label="Dossiers", hidden=not progress) as bar:
            for dossier in bar:
                record_dossier(dossier)
        with click.progressbar(orders, label="Commandes SONS", hidden=not progress) as bar:
            for order in bar:
                record_order(order)
        refresh_all()
        record(actor, "ledger_rebuild", "Ledger", "", after={"dossiers": len(dossiers), "commandes": len(orders)})
    return len(dossiers), len(orders)
