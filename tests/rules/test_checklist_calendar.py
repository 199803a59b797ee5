"""The OG checklist with the sector and the date (S-CALENDAR): « SONS » only while the couloir's orders are open."""

import datetime as dt

import pytest

from esms_numerique.rules.checklist import sons_checklist
from esms_numerique.rules.checklist_calendar import with_calendar

SONS = sons_checklist("montee_version", "reference")


@pytest.mark.parametrize(
    ("sector", "day", "scheme", "couloir"),
    [
        ("PA", dt.date(2024, 1, 10), "sons", "MS1"),  # MS1's last day
        ("PA", dt.date(2024, 1, 11), "esms_numerique", "MS1"),
        ("DOM", dt.date(2024, 3, 15), "esms_numerique", "MS1"),
        ("PDE", dt.date(2023, 12, 31), "sons", "MS2"),
        ("PDS", dt.date(2024, 1, 2), "esms_numerique", "MS2"),
        ("PDE", dt.date(2022, 9, 6), "esms_numerique", "MS2"),  # the day before PDE opened
        ("AHI", dt.date(2024, 3, 15), "sons", "MS3"),
        ("PJM", dt.date(2024, 10, 1), "esms_numerique", "MS3"),
    ],
)
def test_the_couloir_window_decides(sector, day, scheme, couloir):
    answer = with_calendar(SONS, sector, day)
    assert answer.scheme == scheme
    assert f"couloir {couloir}" in answer.source
    assert f"couloir {couloir}" in (answer.title + " ".join(answer.steps))


def test_an_answer_that_is_not_sons_is_left_as_it_is():
    other = sons_checklist("sans_dui", None)
    assert with_calendar(other, "PA", dt.date(2024, 3, 15)) is other
