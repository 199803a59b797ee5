"""`esms comite proposer` and `esms portefeuille rejouer` (issue 13): the committee's proposal as JSON, a campaign
replayed on the parameters in force (every difference 0) or on a draft file, bad drafts refused in French."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from esms_numerique.cli import main
from esms_numerique.dossiers import committees
from esms_numerique.selection.models import Proposal

from .conftest import essms, instructed

pytestmark = pytest.mark.django_db


def test_comite_proposer_prints_the_proposal_as_json(users, april):
    committee = april["committee"]
    result = CliRunner().invoke(main, ["comite", "proposer", str(committee.pk), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["envelope_eur"] == 500_000 and data["available_eur"] == 395_000
    assert data["selected"] == sorted([april["Y"].reference, april["Z"].reference])
    assert data["total_eur"] == 210_000
    # Grid points 300 and 200, each raised by the 20 % acquisition bonus (every ESSMS in acquisition).
    assert data["objective"] == pytest.approx(600.0) and data["bound"] >= data["objective"]
    assert 0 <= data["gap"] <= 0.001
    proposal = Proposal.objects.get()
    assert (proposal.pk, proposal.created_by) == (data["proposal"], users["ars"])
    text = CliRunner().invoke(main, ["comite", "proposer", str(committee.pk)])
    assert "2 dossier(s) proposé(s) pour 210\u202f000 €" in text.stdout


def test_comite_proposer_refuses_in_french(users, april):
    missing = CliRunner().invoke(main, ["comite", "proposer", "999999"])
    assert missing.exit_code == 2 and "aucun comité n° 999999" in missing.stderr
    porteur = CliRunner().invoke(main, ["comite", "proposer", str(april["committee"].pk), "--utilisateur", "porteur"])
    assert porteur.exit_code == 2 and "Seuls les instructeurs du comité" in porteur.stderr
    assert not Proposal.objects.exists()


def test_comite_proposer_without_an_envelope(users):
    committee = committees.create_committee(users["ars"], "Comité", dt.date(2024, 4, 10), dt.date(2024, 3, 31))
    result = CliRunner().invoke(main, ["comite", "proposer", str(committee.pk), "--json"])
    assert result.exit_code == 2 and "Aucune enveloppe n'est fixée pour la région 53" in result.stderr


def test_portefeuille_rejouer_in_force_then_on_a_draft(users, tmp_path):
    eleven = instructed(users, "Onze ESSMS", essms(0, 11))
    instructed(users, "Quatre ESSMS", essms(11, 4), operation="upgrade")
    same = CliRunner().invoke(main, ["portefeuille", "rejouer", "--campagne", "2024", "--json"])
    assert same.exit_code == 0, same.output
    data = json.loads(same.stdout)
    assert data["dossiers"] == 2 and data["changed"] == []
    assert data["total_before_eur"] == data["total_after_eur"] == 11 * 21_000 + 4 * 5_000
    assert all(row["difference"] == 0 for row in data["by_region"])
    draft = tmp_path / "brouillon.yaml"
    draft.write_text(
        "description: taux d'usage d'une acquisition abaissé\nvaleurs:\n  funding/usage.acquisition_full_rate: 6000\n",
        encoding="utf-8",
    )
    moved = CliRunner().invoke(main, ["portefeuille", "rejouer", "--campagne", "2024", "--parametres", str(draft)])
    assert moved.exit_code == 0, moved.output
    assert "différence -11\u202f000 €" in moved.stdout
    assert f"{eleven.reference} : 231\u202f000 € → 220\u202f000 €" in moved.stdout
    as_json = CliRunner().invoke(
        main, ["portefeuille", "rejouer", "--campagne", "2024", "--parametres", str(draft), "--json"]
    )
    data = json.loads(as_json.stdout)
    assert data["total_before_eur"] - data["total_after_eur"] == 11_000 and data["changed"] == [eleven.reference]
    assert data["changes"] == {"esms_numerique/2024/funding/usage.acquisition_full_rate": 6000}


def test_a_bad_draft_is_refused_whole_in_french(users, tmp_path):
    draft = tmp_path / "brouillon.yaml"
    draft.write_text(
        "valeurs:\n"
        "  funding/usage.acquisition_full_rate: 6000\n"
        "  funding/nimporte.quoi: 3\n"
        "  esms_numerique/2022/funding/usage.acquisition_full_rate: 5000\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["portefeuille", "rejouer", "--campagne", "2024", "--parametres", str(draft)])
    assert result.exit_code == 2
    assert "brouillon refusé, rien n'est rejoué" in result.stderr
    assert "« funding/nimporte.quoi » : paramètre inconnu" in result.stderr
    assert "n'est pas de la campagne 2024" in result.stderr
    unknown = CliRunner().invoke(main, ["portefeuille", "rejouer", "--campagne", "1999"])
    assert unknown.exit_code == 2 and "--campagne « 1999 » inconnue" in unknown.stderr
    empty = tmp_path / "vide.yaml"
    empty.write_text("description: rien\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["portefeuille", "rejouer", "--campagne", "2024", "--parametres", str(empty)])
    assert result.exit_code == 2 and "une table « valeurs: »" in result.stderr
