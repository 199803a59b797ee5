"""Reads a campaign's parameters on a date, for a region, and remembers which it read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

from .parameters import DatedValue, ParameterTree, default_tree

CAMPAIGNS_ROOT = "esms_numerique"
# With neither a date in the input nor a clock from the caller, parameters are read as the texts last set them.
LATEST = dt.date.max


class UnknownCampaign(ValueError):
    pass


def available_campaigns(tree: ParameterTree | None = None) -> list[str]:
    return (tree or default_tree()).directories(CAMPAIGNS_ROOT)


def reading_date(given: dt.date | None, today: dt.date | None) -> dt.date:
    """The date the rules read their parameters on: the input's own date, else the caller's clock (the platform
    passes `esms_numerique.clock.today()`), else the latest dated values. The rules core never reads the system
    clock (DECISION D-RULES-CLOCK)."""
    if isinstance(given, dt.datetime):
        return given.date()
    return given or today or LATEST


@cache
def campaign_start(tree: ParameterTree, campaign: str) -> dt.date:
    """The date of the campaign's first dated value."""
    return min(
        value.start
        for key, file in tree.files.items()
        if key.startswith(f"{CAMPAIGNS_ROOT}/{campaign}/")
        for parameter in file.parameters.values()
        for value in parameter.values
    )


@dataclass
class CampaignContext:
    campaign: str
    on: dt.date
    tree: ParameterTree = field(default_factory=default_tree)
    region: str | None = None

    def __post_init__(self) -> None:
        if self.campaign not in available_campaigns(self.tree):
            raise UnknownCampaign(self.campaign)
        # Before the campaign's first dated value (a project filed early), read the campaign as it opened.
        self.on = max(self.on, campaign_start(self.tree, self.campaign))

    def name(self, short: str) -> str:
        return f"{CAMPAIGNS_ROOT}/{self.campaign}/{short}"

    def has(self, short: str) -> bool:
        return self.tree.has(self.name(short))

    def get(self, short: str) -> DatedValue:
        value = self.tree.get(self.name(short)).at(self.on, self.region)
        if value is None:
            raise KeyError(f"{self.name(short)} n'a pas de valeur au {self.on:%d/%m/%Y}")
        return value

    def shared(self, name: str) -> DatedValue:
        """A parameter outside the campaign tree (geography, SONS, sectors), read on the same date."""
        return self.tree.get(name).in_force(self.on)
