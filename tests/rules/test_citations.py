"""Sources as the public reads them (rules/citations.py): the text's title and paragraph, never a seed file."""

from esms_numerique.rules.citations import Citation, citations

AAP24 = "ARS Bretagne, appel à projets ESMS numérique, phase de généralisation 2024"


def test_a_seed_source_reads_as_its_title_and_paragraph():
    assert citations("AAP24 3.3.2 1) Financement pour le développement des usages (001_098b5f25fa5a095c.txt)") == [
        Citation(AAP24, "3.3.2 1) Financement pour le développement des usages")
    ]


def test_several_texts_each_once_and_decisions_by_their_identifier():
    source = "AAP24 3.1 (001_098b5f25fa5a095c.txt) ; AAP24 3.1 (001_098b5f25fa5a095c.txt) ; FAQN Q1 ; " + (
        "DECISION D-SECTOR-MAP (SPEC §5 ; catégories relues marquées reviewed)"
    )
    assert citations(source) == [
        Citation(AAP24, "3.1"),
        Citation("FAQ nationale ESMS numérique (38 questions)", "Q1"),
        Citation("Choix de la plateforme là où les textes se taisent", "D-SECTOR-MAP"),
    ]


def test_a_text_with_a_public_link_keeps_it_and_an_unknown_text_is_kept_as_written():
    (insee,) = citations("INSEE-COG régions 2016")
    assert insee.url == "https://www.insee.fr/fr/information/2560452" and insee.paragraph == "régions 2016"
    assert citations("Répertoire FINESS, extraction du 03/01/2024 (et.csv)") == [
        Citation("Répertoire FINESS, extraction du 03/01/2024 (et.csv)", "")
    ]
