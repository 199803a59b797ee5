"""« Demander un avis »: an instructor asks a named expert; the expert is told, sees only the dossiers they are
asked about, answers once in the thread; the instructor is told."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from esms_numerique.audit.models import AuditEntry
from esms_numerique.dossiers.access import acting_role, visible_dossiers
from esms_numerique.instruction import services
from esms_numerique.instruction.models import ExpertOpinion
from tests.instruction.conftest import html

from .conftest import BZH, filed

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_opinion_asked_answered_and_told(users, multiregional, django_capture_on_commit_callbacks):
    other = filed(users["porteur"], BZH[:2], "Grappe bretonne")
    expert = users["expert"]
    assert list(visible_dossiers(expert)) == []
    ars = client_for(users["ars"])
    page = html(ars.get(f"/dossiers/{multiregional.reference}/"))
    assert "Conseil départemental d'Ille-et-Vilaine" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = ars.post(
            f"/dossiers/{multiregional.reference}/avis/",
            {"expert": expert.pk, "question": "Les ESSMS parisiens ont-ils un projet concurrent ?"},
            follow=True,
        )
    assert "Avis demandé à expert_cd35" in html(response)
    opinion = ExpertOpinion.objects.get()
    assert (opinion.dossier, opinion.expert, opinion.asked_by) == (multiregional, expert, users["ars"])
    told = expert.notifications.get(event=f"instruction:avis:{opinion.pk}:demande")
    assert multiregional.reference in told.subject and "projet concurrent" in told.body_text
    assert AuditEntry.objects.filter(action="demander_avis", object_id=multiregional.reference).exists()

    # The expert sees this dossier only, reads it, cannot act, answers in the thread.
    assert list(visible_dossiers(expert)) == [multiregional]
    assert acting_role(expert, multiregional) is None
    client = client_for(expert)
    assert client.get(f"/dossiers/{other.reference}/").status_code == 404
    page = html(client.get(f"/dossiers/{multiregional.reference}/"))
    assert "projet concurrent" in page and 'class="opinion-answer-form"' in page
    assert 'data-transition="' not in page and 'id="message-form"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/dossiers/{multiregional.reference}/avis/{opinion.pk}/",
            {"answer": "Aucun projet concurrent connu du département."},
            follow=True,
        )
    assert "Avis rendu" in html(response)
    opinion.refresh_from_db()
    assert opinion.answered and opinion.answer == "Aucun projet concurrent connu du département."
    assert users["ars"].notifications.filter(event=f"instruction:avis:{opinion.pk}:rendu").exists()
    # Answered once; the thread shows it to the instructor, not to the porteur.
    with pytest.raises(services.InstructionError):
        services.answer_opinion(expert, opinion, "Deuxième avis.")
    assert "Aucun projet concurrent connu" in html(ars.get(f"/dossiers/{multiregional.reference}/"))
    porteur_page = html(client_for(users["porteur"]).get(f"/dossiers/{multiregional.reference}/"))
    assert "Aucun projet concurrent connu" not in porteur_page and "projet concurrent" not in porteur_page


def test_only_the_expert_asked_answers_and_only_instructors_ask(users, multiregional):
    opinion = services.ask_opinion(users["ars"], multiregional, users["expert"], "Votre avis ?")
    for who in ("expert_grades", "autre_ars", "porteur"):
        with pytest.raises(PermissionDenied):
            services.answer_opinion(users[who], opinion, "Avis.")
    with pytest.raises(PermissionDenied):
        services.ask_opinion(users["autre_ars"], multiregional, users["expert"], "Question ?")
    with pytest.raises(services.InstructionError):  # not an expert
        services.ask_opinion(users["ars"], multiregional, users["sans_role"], "Question ?")
    response = client_for(users["expert_grades"]).post(
        f"/dossiers/{multiregional.reference}/avis/{opinion.pk}/", {"answer": "Avis."}
    )
    assert response.status_code == 403
    response = client_for(users["sans_role"]).post(
        f"/dossiers/{multiregional.reference}/avis/{opinion.pk}/", {"answer": "Avis."}
    )
    assert response.status_code == 404  # the dossier does not exist for them
    opinion.refresh_from_db()
    assert not opinion.answered
