import pytest

from esms_numerique.rules.finess import KeyStatus, check_key, with_key
from esms_numerique.rules.geography import geography


@pytest.mark.parametrize("number", ["350000022", "350000014", "750000101", " 350000022 "])
def test_valid_metropolitan_numbers(number):
    assert check_key(number) == KeyStatus.VALID


@pytest.mark.parametrize("number", ["350000023", "350000021", "750000100"])
def test_a_wrong_check_digit_is_caught(number):
    assert check_key(number) == KeyStatus.BAD_KEY


@pytest.mark.parametrize("number", ["35000002", "3500000222", "ABC", "3A0000014", "35000002X", ""])
def test_malformed_numbers(number):
    assert check_key(number) == KeyStatus.MALFORMED


def test_corsican_numbers_use_21_and_22_for_the_key():
    assert with_key("2A000001") == "2A0000014"
    assert check_key("2A0000014") == KeyStatus.VALID
    assert check_key("2b" + with_key("22000002")[2:]) == KeyStatus.VALID
    assert check_key("2A0000015") == KeyStatus.CORSICA_UNCONFIRMED


def test_departments_and_regions():
    geo = geography()
    assert len(geo.departments) == 101
    assert len(geo.regions) == 18
    assert geo.normalize_department("9A") == "971"
    assert geo.normalize_department("9f") == "976"
    assert geo.normalize_department("2a") == "2A"
    assert geo.normalize_department("1") == "01"
    assert geo.normalize_department("9J") is None
    assert geo.department_of_finess("970100012") == "971"
    assert geo.department_of_finess("980500012") == "976"
    assert geo.department_of_finess("2B0000012") == "2B"
    assert geo.department_of_finess("350000022") == "35"
    assert geo.departments["2B"].region == "94"
    assert geo.regions["94"].overseas_or_corsica
    assert not geo.regions["53"].overseas_or_corsica
