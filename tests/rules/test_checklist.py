import pytest

from esms_numerique.rules.checklist import sons_checklist


@pytest.mark.parametrize(
    ("situation", "referencing", "scheme", "warned"),
    [
        ("sans_dui", None, "esms_numerique", False),
        ("changer_editeur", "reference", "esms_numerique", False),
        ("montee_version", "reference", "sons", False),
        ("montee_version", "engage", "sons", True),
        ("montee_version", "non_engage", "esms_numerique", False),
    ],
)
def test_every_path_of_the_og_checklist(situation, referencing, scheme, warned):
    answer = sons_checklist(situation, referencing)
    assert answer.scheme == scheme
    assert bool(answer.warning) == warned
    assert answer.steps


def test_an_upgrade_needs_the_referencing_answer():
    with pytest.raises(ValueError, match="référencée Ségur"):
        sons_checklist("montee_version", None)
