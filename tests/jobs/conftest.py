"""The registry of 20 ESSMS in Ille-et-Vilaine and the users of tests/dossiers, during the 2024 campaign."""

from tests.dossiers.conftest import campaign_2024, registry, users  # noqa: F401 (fixtures)
