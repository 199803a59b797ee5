"""The pieces of SQL the selection's stamps share (services.figures_stamp, coverage.stamp): what their pages read,
counted in one small query so that a change — through the services or not — moves the stamp
(DECISION D-COMMITTEE-FIGURES-CACHE)."""

from __future__ import annotations

from esms_numerique.ledger.models import FundedEssms
from esms_numerique.registry.models import Establishment, Snapshot

from .models import Override

# The registry's last extract and establishment, the ledger's last row.
REGISTRY_AND_LEDGER = (Snapshot, Establishment, FundedEssms)
# The overrides (of the proposals a WHERE clause keeps): each adds a row, a change of `include` moves the sum.
OVERRIDES = (
    "SELECT COUNT(*), MAX(id), MAX(created_at), SUM(CASE WHEN include THEN 1 ELSE 0 END) "
    f"FROM {Override._meta.db_table}"
)


def last_ids(*models) -> str:
    """One column per model: its largest id (each table's rows, inserted since, move it)."""
    return ", ".join(f"(SELECT MAX(id) FROM {model._meta.db_table})" for model in models)
