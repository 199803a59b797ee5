"""Registry search page and API: logged-in users only; sector corrections need the permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from esms_numerique.accounts.enums import Role
from esms_numerique.accounts.models import Profile
from esms_numerique.audit.models import AuditEntry
from esms_numerique.registry.models import Establishment
from esms_numerique.registry.services import import_extracts

from .test_import import et_line, extract

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry():
    import_extracts(
        "et.csv",
        extract(
            et_line("350000022", name="EHPAD LES TILLEULS"),
            et_line("350001004", category="460", name="SAAD DU PAYS"),
            et_line("290000017", department="29", finess_ej="290000009", name="IME"),
        ),
    )


@pytest.fixture
def reader():
    client = Client()
    client.force_login(User.objects.create_user("lecteur", password="x"))
    return client


@pytest.fixture
def corrector():
    """An ARS instructor of Bretagne (53), with the permission: corrects the sectors of its region."""
    user = User.objects.create_user("instructeur", password="x")
    Profile.objects.create(user=user, role=Role.ARS, region="53")
    user.user_permissions.add(Permission.objects.get(codename="change_establishment"))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/repertoire/", "/repertoire/350000022/", "/api/finess", "/api/finess/350000022"])
def test_anonymous_users_see_nothing(client, registry, url):
    response = client.get(url)
    assert response.status_code in (302, 401)
    assert b"350000022" not in response.content


def test_search_by_department_name_og_and_sector(reader, registry):
    page = reader.get("/repertoire/", {"department": "35"})
    assert [e.finess_et for e in page.context["results"]] == ["350000022", "350001004"]
    assert [e.finess_et for e in reader.get("/repertoire/", {"q": "tilleuls"}).context["results"]] == ["350000022"]
    assert [e.finess_et for e in reader.get("/repertoire/", {"og": "290000009"}).context["results"]] == ["290000017"]
    assert [e.finess_et for e in reader.get("/repertoire/", {"sector": "DOM"}).context["results"]] == ["350001004"]
    assert "Extraction du 03/01/2024" in page.content.decode()


def test_a_name_search_reads_both_names_in_capitals_never_across_them(reader, registry):
    """D-REGISTRY-SEARCH-COUNT: the database keeps both names in capitals in one column (search_name); a search is
    found in either name whatever its case, never across the two, and its % and _ are letters, not wildcards."""
    Establishment.objects.filter(finess_et="350001004").update(long_name="Service d'aide à domicile 100%")
    tilleuls = Establishment.objects.get(finess_et="350000022")
    assert tilleuls.search_name == "EHPAD LES TILLEULS\n"

    def found(q):
        return [e.finess_et for e in reader.get("/repertoire/", {"q": q}).context["results"]]

    assert found("tilleuls") == found("Les Tilleuls") == ["350000022"]
    assert found("aide à domicile") == ["350001004"]  # the long name
    assert found("100%") == ["350001004"] and found("1_0") == [] and found("%") == ["350001004"]
    assert found("PAYS SERVICE") == found("PAYS\nSERVICE") == []  # the end of one name and the start of the other


def test_the_result_rows_and_the_form_are_the_templates(reader, registry):
    """The rows written in Python (registry_views.result_rows) carry the template's loop markup, escaped the same;
    a valid search shows the unbound form with its values, whose markup is the bound form's."""
    import re

    from django.template import Context, Template

    from esms_numerique.www.registry_views import ROW_FIELDS, RegistrySearchForm, result_rows

    loop = (
        '{% for e in results %}<tr><td><a href="{{ e.url }}">{{ e.finess_et }}</a></td><td>{{ e.name }}</td>'
        '<td>{{ e.category }} {{ e.category_label }}</td><td>{{ e.effective_sector|default:"non ESSMS" }}</td>'
        "<td>{{ e.department }}</td><td>{{ e.legal_entity.finess_ej }} {{ e.legal_entity.name }}</td></tr>"
        "{% endfor %}"
    )
    Establishment.objects.filter(finess_et="350000022").update(name='EHPAD <b>« Les Tilleuls »</b> & "fils"')
    Establishment.objects.filter(finess_et="290000017").update(category="", sector="", sector_override="")
    rows = list(Establishment.objects.select_related("legal_entity").only(*ROW_FIELDS).order_by("finess_et"))
    for e in rows:
        e.url = f"/repertoire/{e.finess_et}/"
    expected = Template(loop).render(Context({"results": rows}))
    built = result_rows(rows)
    assert re.sub(r">\s+<", "><", built).strip() == expected.strip()
    assert "&lt;b&gt;« Les Tilleuls »&lt;/b&gt; &amp; &quot;fils&quot;" in built and "non ESSMS" in built
    for data in ({"q": "tilleuls"}, {"q": "x", "department": "35", "sector": "PA", "og": "abc <b>"}):
        bound = RegistrySearchForm(data)
        assert bound.is_valid()
        assert str(RegistrySearchForm(initial=bound.cleaned_data)) == str(bound)
    page = reader.get("/repertoire/", {"q": "<b>", "sector": "PA"}).content.decode()
    assert 'value="&lt;b&gt;"' in page and '<option value="PA" selected>' in page


def test_a_search_found_in_too_many_names_says_more_than_the_cap(reader, registry, monkeypatch):
    """D-REGISTRY-SEARCH-COUNT: at most COUNT_CAP results are counted; past it, « Plus de … » and its pages."""
    from esms_numerique.www import registry_views

    monkeypatch.setattr(registry_views, "PER_PAGE", 1)
    page = reader.get("/repertoire/", {"department": "35"})
    assert "2 établissements" in page.content.decode() and page.context["results"].paginator.num_pages == 2
    monkeypatch.setattr(registry_views, "COUNT_CAP", 1)
    page = reader.get("/repertoire/", {"department": "35"})
    count = page.content.decode().split('id="result-count">')[1].split("</p>")[0]
    assert count.startswith("Plus de 1 établissements : seuls les 1 premiers sont listés ; précisez la recherche")
    assert page.context["results"].paginator.num_pages == 1
    assert [e.finess_et for e in page.context["results"]] == ["350000022"]
    exact = reader.get("/repertoire/", {"q": "tilleuls"})
    assert "1 établissement<" in exact.content.decode() and not exact.context["results"].paginator.capped


def test_api_list_is_paginated_and_filtered(reader, registry):
    data = reader.get("/api/finess", {"department": "35", "page_size": 1}).json()
    assert data["count"] == 2
    assert [e["finess_et"] for e in data["items"]] == ["350000022"]
    detail = reader.get("/api/finess/350001004").json()
    assert (detail["sector"], detail["category"], detail["legal_entity"]["finess_ej"]) == ("DOM", "460", "350000014")
    assert reader.get("/api/finess/350000014").json()["finess_ej"] == "350000014"
    missing = reader.get("/api/finess/999999999")
    assert (missing.status_code, missing.json()["detail"]) == (404, "FINESS 999999999 inconnu du répertoire")


def test_sector_correction_requires_the_permission_and_a_reason(reader, corrector, registry):
    url = "/repertoire/350001004/secteur/"
    assert "Corriger le secteur" not in reader.get("/repertoire/350001004/").content.decode()
    assert reader.post(url, {"sector": "PA", "reason": "test"}).status_code == 403
    assert Establishment.objects.get(finess_et="350001004").effective_sector == "DOM"


def test_sector_correction_is_saved_and_audited(corrector, registry):
    url = "/repertoire/350001004/secteur/"
    response = corrector.post(url, {"sector": "PA", "reason": ""}, follow=True)
    assert "le motif est obligatoire" in response.content.decode()
    response = corrector.post(url, {"sector": "PA", "reason": "Service de l'EHPAD"}, follow=True)
    assert "Secteur corrigé" in response.content.decode()
    assert Establishment.objects.get(finess_et="350001004").effective_sector == "PA"
    assert AuditEntry.objects.filter(action="override_sector", actor="instructeur").count() == 1


def test_simulator_takes_finess_alone_from_the_registry(client, registry):
    response = client.post(
        "/api/simulation",
        {
            "campaign": "2024",
            "filed_on": "2024-03-10",
            "operation": "upgrade",
            "solution": {"segur_referenced": True},
            "essms": [{"finess_et": "350000022"}, {"finess_et": "350001004"}, {"finess_et": "290000017"}],
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["essms_count"], data["pivot_region"], data["usage_eur"]) == (3, "53", 15000)
    assert [e["sector"] for e in data["essms"]] == ["PA", "DOM", "PA"]
    completed = [f for f in data["findings"] if f["rule"] == "E-FINESS" and "répertoire" in f["message"]]
    assert completed[0]["source"].startswith("Répertoire FINESS, extraction du 03/01/2024")


def test_unknown_finess_alone_is_a_french_error(client, registry):
    response = client.post(
        "/api/simulation",
        {"campaign": "2024", "operation": "upgrade", "essms": [{"finess_et": "750000101"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "champ « essms[0].sector » : champ obligatoire manquant" in response.json()["errors"]


def test_row_links_are_those_of_the_routes():
    from django.urls import reverse

    from esms_numerique.www.links import row_link

    assert row_link("www:registry_detail")("350000022") == reverse("www:registry_detail", args=["350000022"])
    assert row_link("www:dossier_detail")("AAP 24/1") == "/dossiers/AAP%2024%2F1/"
    with pytest.raises(ValueError, match="ne se termine pas par son dernier argument"):
        row_link("www:dossier_document", "REF")
