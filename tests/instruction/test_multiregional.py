"""Read access for the other ARS of a multiregional dossier (their ESSMS highlighted, no write right), and the
hand-over of its instruction to the national desk by the pivot ARS (AAP24 §7 nota)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from esms_numerique.audit.models import AuditEntry
from esms_numerique.dossiers.access import acting_role, allowed_transitions, sees_annotations, visible_dossiers
from esms_numerique.dossiers.enums import State
from esms_numerique.dossiers.services import post_message
from esms_numerique.instruction import services
from esms_numerique.instruction.models import DossierRegion, HandOver
from tests.instruction.conftest import html

from .conftest import BZH, IDF, filed

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_regions_of_a_filed_dossier_are_written_at_filing(multiregional):
    assert multiregional.pivot_region == "53"
    assert dict(DossierRegion.objects.filter(dossier=multiregional).values_list("region", "essms_count")) == {
        "53": 6,
        "11": 4,
    }


def test_the_other_ars_reads_the_dossier_and_its_essms_are_highlighted(users, multiregional):
    bretonne = filed(users["porteur"], BZH[:2], "Grappe bretonne")
    assert set(visible_dossiers(users["autre_ars"])) == {multiregional}
    assert set(visible_dossiers(users["ars_occitanie"])) == set()
    page = html(client_for(users["autre_ars"]).get(f"/dossiers/{multiregional.reference}/"))
    assert 'id="multiregional-notice"' in page and "4 de ses ESSMS sont dans votre région" in page
    for finess in IDF:
        assert f'<tr data-finess="{finess}" data-highlighted="true"' in page
    for finess in BZH:
        assert f'<tr data-finess="{finess}">' in page
    assert "EHPAD PARISIEN 0" in page  # names from the registry
    assert client_for(users["autre_ars"]).get(f"/dossiers/{bretonne.reference}/").status_code == 404
    # The pivot ARS sees no highlight: the whole dossier is its own.
    pivot_page = html(client_for(users["ars"]).get(f"/dossiers/{multiregional.reference}/"))
    assert 'data-highlighted="true"' not in pivot_page


def test_the_other_ars_cannot_act(users, multiregional):
    other = users["autre_ars"]
    assert acting_role(other, multiregional) is None
    assert allowed_transitions(other, multiregional) == []
    assert not sees_annotations(other, multiregional)
    post_message(users["ars"], multiregional, "Annotation de l'ARS pivot.", private=True)
    client = client_for(other)
    page = html(client.get(f"/dossiers/{multiregional.reference}/"))
    assert 'data-transition="' not in page and 'id="message-form"' not in page and 'id="assign-form"' not in page
    assert "Annotation de l'ARS pivot." not in page
    response = client.post(
        f"/dossiers/{multiregional.reference}/action/",
        {"transition": "declarer_recevable", "version": multiregional.version},
    )
    assert response.status_code == 403
    multiregional.refresh_from_db()
    assert multiregional.state == State.DEPOSE
    with pytest.raises(PermissionDenied):
        post_message(other, multiregional, "Un message de l'ARS d'Île-de-France.")


def test_the_pivot_ars_hands_the_instruction_over_to_national(users, multiregional, django_capture_on_commit_callbacks):
    ars = client_for(users["ars"])
    page = html(ars.get(f"/dossiers/{multiregional.reference}/"))
    assert 'id="hand-over-form"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = ars.post(
            f"/dossiers/{multiregional.reference}/national/",
            {"version": multiregional.version, "reason": "Projet complexe impliquant deux régions."},
            follow=True,
        )
    assert "Instruction confiée au national" in html(response)
    handed = HandOver.objects.get(dossier=multiregional)
    assert (handed.by, handed.from_region) == (users["ars"], "53")
    entry = AuditEntry.objects.get(action="confier_au_national", object_id=multiregional.reference)
    assert entry.reason == "Projet complexe impliquant deux régions."
    multiregional.refresh_from_db()
    assert multiregional.desk == "regional"  # the desk of filing does not change for the porteur
    assert acting_role(users["ars"], multiregional) is None
    assert acting_role(users["national"], multiregional) == "instructeur_national"
    assert users["national"].notifications.filter(event="instruction:confier_au_national").exists()
    assert users["national"].dossier_follows.get(dossier=multiregional).following  # told of the next steps
    # CNSA acts; the pivot ARS still reads, without acting
    national = client_for(users["national"])
    response = national.post(
        f"/dossiers/{multiregional.reference}/action/",
        {"transition": "declarer_recevable", "version": multiregional.version},
        follow=True,
    )
    assert "Dossier désormais « Recevable »" in html(response)
    page = html(ars.get(f"/dossiers/{multiregional.reference}/"))
    assert 'id="hand-over"' in page and 'data-transition="' not in page


def test_only_the_pivot_ars_of_a_multiregional_dossier_hands_over(users, multiregional):
    bretonne = filed(users["porteur"], BZH[:2], "Grappe bretonne")
    with pytest.raises(services.InstructionError):
        services.hand_over(users["ars"], bretonne, bretonne.version, "Pourquoi pas.")
    with pytest.raises(PermissionDenied):
        services.hand_over(users["autre_ars"], multiregional, multiregional.version, "Motif.")
    with pytest.raises(services.InstructionError):
        services.hand_over(users["ars"], multiregional, multiregional.version, "  ")
    response = client_for(users["autre_ars"]).post(
        f"/dossiers/{multiregional.reference}/national/", {"version": multiregional.version, "reason": "Motif."}
    )
    assert response.status_code == 403
    assert not HandOver.objects.exists()
    page = html(client_for(users["ars"]).get(f"/dossiers/{bretonne.reference}/"))
    assert 'id="hand-over-form"' not in page


def test_a_handed_over_dossier_goes_to_the_national_committee_and_national_work(users, multiregional):
    import datetime as dt

    from esms_numerique.accounts.access import access_of
    from esms_numerique.dossiers.committees import create_committee, eligible_dossiers
    from esms_numerique.dossiers.models import Dossier
    from esms_numerique.www.dossier_list_views import tab_filters

    filed_on = multiregional.filed_at.date()
    regional = create_committee(users["ars"], "Comité Bretagne", filed_on + dt.timedelta(days=30), filed_on)
    national = create_committee(users["national"], "Comité national", filed_on + dt.timedelta(days=30), filed_on)

    def todo(user) -> set[str]:
        tab = tab_filters(user, access_of(user))["a_traiter"]
        return set(Dossier.objects.filter(tab).values_list("reference", flat=True))

    def agenda(user, committee) -> set[str]:
        return set(eligible_dossiers(user, committee).values_list("reference", flat=True))

    services.hand_over(users["ars"], multiregional, multiregional.version, "Projet complexe.")
    client_for(users["national"]).post(
        f"/dossiers/{multiregional.reference}/action/",
        {"transition": "declarer_recevable", "version": Dossier.objects.get(pk=multiregional.pk).version},
    )
    client_for(users["national"]).post(
        f"/dossiers/{multiregional.reference}/action/",
        {"transition": "instruire", "version": Dossier.objects.get(pk=multiregional.pk).version},
    )
    assert Dossier.objects.get(pk=multiregional.pk).state == State.EN_INSTRUCTION
    assert multiregional.reference in agenda(users["national"], national)
    assert multiregional.reference not in agenda(users["ars"], regional)
    assert multiregional.reference in todo(users["national"])
    assert multiregional.reference not in todo(users["ars"])
