"""Edits made in the admin to what the rules read — establishments (sector, category, OG) and solutions
(referencing) — are audited with their fields before and after (docs/decisions.md, D-AUDIT-KEY)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from esms_numerique.audit.models import AuditEntry
from esms_numerique.audit.services import verify_chain
from esms_numerique.registry.models import Establishment, LegalEntity
from esms_numerique.registry.services import import_extracts
from esms_numerique.sons.models import Editor, Solution
from tests.registry.test_import import et_line, extract

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(User.objects.create_superuser("admin", password="x"))
    return client


@pytest.fixture
def registry():
    import_extracts(
        "et.csv",
        extract(et_line("350000022", name="EHPAD LES TILLEULS"), et_line("290000017", finess_ej="290000009")),
    )


def form_data(obj, **changes) -> dict:
    """What the admin's change form posts for `obj` as it is, with `changes`."""
    model_admin = admin.site._registry[type(obj)]
    request = RequestFactory().get("/")
    request.user = User.objects.get(username="admin")
    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    data = {}
    for name in form.fields:
        value = form.initial.get(name)
        data[name] = "" if value is None else value
    return data | changes


def change_url(obj) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def test_an_establishment_edited_in_the_admin_is_audited(admin_client, registry):
    establishment = Establishment.objects.get(finess_et="350000022")
    other_og = LegalEntity.objects.get(finess_ej="290000009")
    data = form_data(establishment, sector="PH", category="183", legal_entity=other_og.pk)
    response = admin_client.post(change_url(establishment), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="admin_change:establishment")
    assert (entry.actor, entry.object_type, entry.object_id) == ("admin", "Establishment", "350000022")
    owner = LegalEntity.objects.get(finess_ej="350000014").pk
    assert entry.before == {"sector": "PA", "category": "500", "legal_entity": owner}
    assert entry.after == {"sector": "PH", "category": "183", "legal_entity": other_og.pk}
    # saved without a change: nothing to audit
    admin_client.post(change_url(establishment), form_data(Establishment.objects.get(pk=establishment.pk)))
    assert AuditEntry.objects.filter(action="admin_change:establishment").count() == 1
    assert verify_chain() == []


def test_a_solution_referenced_in_the_admin_is_audited(admin_client):
    editor = Editor.objects.create(name="Éditeur", siret="12345678900011")
    solution = Solution.objects.create(editor=editor, name="DUI", version="5.0", couloir="MS1")
    data = form_data(solution, referencing="reference", referenced_on="2023-05-02")
    assert admin_client.post(change_url(solution), data).status_code == 302
    entry = AuditEntry.objects.get(action="admin_change:solution")
    assert (entry.object_type, entry.object_id) == ("Solution", str(solution.pk))
    assert entry.before == {"referencing": "candidat", "referenced_on": None}
    assert entry.after == {"referencing": "reference", "referenced_on": "2023-05-02"}


def test_additions_and_deletions_in_the_admin_are_audited(admin_client):
    response = admin_client.post("/admin/sons/editor/add/", {"name": "Nouvel éditeur", "siret": "98765432100019"})
    assert response.status_code == 302
    editor = Editor.objects.get(siret="98765432100019")
    added = AuditEntry.objects.get(action="admin_add:editor")
    assert added.after == {"name": "Nouvel éditeur", "siret": "98765432100019"} and added.before is None
    others = [Editor.objects.create(name=f"E{n}", siret=f"1111111110000{n}") for n in range(2)]
    admin_client.post(f"/admin/sons/editor/{editor.pk}/delete/", {"post": "yes"})
    admin_client.post(
        "/admin/sons/editor/",
        {"action": "delete_selected", "_selected_action": [e.pk for e in others], "post": "yes"},
    )
    assert not Editor.objects.exists()
    deleted = AuditEntry.objects.filter(action="admin_delete:editor").order_by("id")
    assert [e.before["siret"] for e in deleted] == ["98765432100019", "11111111100000", "11111111100001"]
    assert verify_chain() == []
