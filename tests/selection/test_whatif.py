"""Campaign what-if (P-WHATIF): the filed dossiers replayed on a draft; changing one rate moves the totals by an
exactly known amount, and nothing is written."""

from __future__ import annotations

import pytest
from django.test import Client

from esms_numerique.dossiers.models import Dossier
from esms_numerique.rules.parameters import default_tree
from esms_numerique.selection import services

from .conftest import essms, instructed

pytestmark = pytest.mark.django_db

USAGE = "esms_numerique/2024/funding/usage.acquisition_full_rate"


def test_a_lower_usage_rate_lowers_the_campaign_by_exactly_its_essms(users):
    instructed(users, "Onze ESSMS", essms(0, 11))
    instructed(users, "Quatre ESSMS", essms(11, 4), operation="upgrade")
    same = services.replay("2024", {USAGE: 7000})
    assert same["total_before_eur"] == same["total_after_eur"] == 11 * 21_000 + 4 * 5_000  # an upgrade: usage only
    assert same["changed"] == []
    draft = services.replay("2024", {USAGE: 6000})
    assert draft["dossiers"] == 2
    assert draft["total_before_eur"] - draft["total_after_eur"] == 11 * 1_000  # only the acquisitions' usage rate
    (row,) = draft["by_region"]
    assert (row["desk"], row["region"], row["difference"]) == ("regional", "53", -11_000)
    assert [c["after_eur"] for c in draft["changed"]] == [11 * 20_000]
    # The parameters in force are untouched.
    assert default_tree().get(USAGE).values[-1].value == 7000
    assert Dossier.objects.get(title="Onze ESSMS").filed_result["total_eur"] == 11 * 21_000


def test_the_whatif_page_is_cnsas(users):
    instructed(users, "Onze ESSMS", essms(0, 11))
    client = Client()
    client.force_login(users["national"])
    page = client.get("/selection/simulation-campagne/", {"campaign": "2024", "parameter": USAGE, "value": "6000"})
    text = page.content.decode()
    assert 'data-region="53"' in text and "-11\u202f000 €" in text
    refused = client.get("/selection/simulation-campagne/", {"campaign": "2022", "parameter": USAGE, "value": "6000"})
    assert "pas de cette campagne" in refused.content.decode()
    other = Client()
    other.force_login(users["ars"])
    assert other.get("/selection/simulation-campagne/").status_code == 403


def test_the_whatif_by_sector_and_as_xlsx(users):
    from io import BytesIO

    from openpyxl import load_workbook

    onze = instructed(users, "Onze ESSMS", essms(0, 11))  # IME (PH) and EHPAD (PA) alternate: 6 PH, 5 PA
    draft = services.replay("2024", {USAGE: 6000})
    sectors = {row["sector"]: row["difference"] for row in draft["by_sector"]}
    assert sectors == {"PA": -5_000, "PH": -6_000}
    assert [row["desk_label"] for row in draft["by_desk"]] == ["Guichet régional (ARS)"]
    client = Client()
    client.force_login(users["national"])
    query = {"campaign": "2024", "parameter": USAGE, "value": "6000"}
    page = client.get("/selection/simulation-campagne/", query).content.decode()
    assert 'data-sector="PH"' in page and "format=xlsx" in page and "Guichet régional (ARS)" in page
    response = client.get("/selection/simulation-campagne/", query | {"format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "simulation-campagne-2024.xlsx" in response["Content-Disposition"]
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["Par région", "Par guichet", "Par secteur", "Dossiers modifiés", "Brouillon"]
    regions = book["Par région"]
    assert [c.value for c in regions[1]] == [
        "Guichet",
        "Région pivot",
        "Nom de la région",
        "Dossiers",
        "En vigueur (€)",
        "Brouillon (€)",
        "Écart (€)",
    ]
    assert [c.value for c in regions[2]] == ["Guichet régional (ARS)", "53", "Bretagne", 1, 231_000, 220_000, -11_000]
    assert regions["E2"].number_format.startswith("#,##0") and regions[1][0].font.bold
    assert regions.freeze_panes == "A2" and regions.auto_filter.ref == "A1:G2"
    changed = book["Dossiers modifiés"]
    assert [c.value for c in changed[2]] == [onze.reference, "Onze ESSMS", 231_000, 220_000, -11_000, "oui", "oui"]
    assert book["Brouillon"]["D2"].value == 7000 and book["Brouillon"]["E2"].value == 6000
    other = Client()
    other.force_login(users["ars"])
    assert other.get("/selection/simulation-campagne/", query | {"format": "xlsx"}).status_code == 403


def test_the_whatif_page_takes_a_yaml_draft(users):
    instructed(users, "Onze ESSMS", essms(0, 11))
    client = Client()
    client.force_login(users["national"])
    draft = "valeurs:\n  funding/usage.acquisition_full_rate: 6000\n"
    page = client.get("/selection/simulation-campagne/", {"campaign": "2024", "draft": draft}).content.decode()
    assert "-11\u202f000 €" in page
    same = client.get("/selection/simulation-campagne/", {"campaign": "2024"}).content.decode()
    assert 'id="whatif-summary"' in same and "-11\u202f000" not in same  # the self-check: every difference 0
    bad = client.get(
        "/selection/simulation-campagne/", {"campaign": "2024", "draft": "valeurs:\n  funding/rien.du_tout: 1\n"}
    ).content.decode()
    assert "« funding/rien.du_tout » : paramètre inconnu" in bad and 'id="whatif-summary"' not in bad
    half = client.get("/selection/simulation-campagne/", {"campaign": "2024", "parameter": USAGE}).content.decode()
    assert "ou aucun des deux" in half


def test_a_draft_with_yaml_aliases_or_too_long_is_refused_before_it_is_read():
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nvaleurs:\n  x: *b\n'
    with pytest.raises(services.SelectionError, match="alias YAML"):
        services.read_draft(bomb, "2024")
    limit = default_tree().get("limits.whatif_draft_max_chars").values[-1].value
    with pytest.raises(services.SelectionError, match=f"{limit} au plus"):
        services.read_draft("valeurs:\n  funding/usage.acquisition_full_rate: 6000\n" + "#" * limit, "2024")
    # a long wrong value is named, not echoed whole
    with pytest.raises(services.SelectionError) as refused:
        services.read_draft("valeurs:\n  funding/usage.acquisition_full_rate: " + "y" * 5000 + "\n", "2024")
    assert len(str(refused.value)) < 400
