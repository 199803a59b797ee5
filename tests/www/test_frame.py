# ruff: noqa: F811 (pytest fixtures imported from tests.dossiers.conftest)
"""The site's frame (issue 12): French error pages inside the DSFR header and footer (400, 403, 404, 413, 500), the
footer's pages, sign-in landing on each role's home page (as a GET, even when the session expired during a POST),
sign-out with a French message, and what each role's home page lists."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import include, path

from esms_numerique.dossiers.services import add_piece, apply_transition, create_dossier
from esms_numerique.www.site_views import page_to_land_on
from tests.dossiers.conftest import STANDARD_PIECES, campaign_2024, grappe, registry, users  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

FRAME = ('class="fr-header"', 'class="fr-footer"', "Mentions légales", "Données personnelles", "Plan du site")


def framed(response) -> str:
    html = response.content.decode()
    for part in FRAME:
        assert part in html, part
    assert '<html lang="fr"' in html
    return html


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_unknown_page_is_a_french_404_in_the_frame(client):
    response = client.get("/ceci-nexiste-pas/")
    assert response.status_code == 404
    html = framed(response)
    assert "Page non trouvée" in html and "Erreur 404" in html


def test_an_unknown_api_route_answers_json_in_french(client):
    response = client.get("/api/nexiste-pas")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")


def test_a_refused_page_is_a_french_403_in_the_frame(users):
    response = signed_in(users["porteur"]).get("/suivi/")
    assert response.status_code == 403
    html = framed(response)
    assert "Accès refusé" in html and "Le suivi est réservé aux ARS" in html


def boom(request):
    raise RuntimeError("panne")


urlpatterns = [path("panne/", boom), path("", include("config.urls"))]
handler500 = "esms_numerique.www.site_views.server_error"


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_a_french_500_rendered_without_the_request(users):
    from django.urls import clear_url_caches

    clear_url_caches()
    client = signed_in(users["porteur"])
    client.raise_request_exception = False
    response = client.get("/panne/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Erreur inattendue" in html and "Erreur 500" in html and 'class="fr-footer"' in html
    # Nothing of the person: the page needs neither the session nor the database.
    assert "porteur" not in html


def test_form_fields_over_the_limit_are_a_french_413(client, settings):
    """A multipart body passes the upload limit but its text fields exceed DATA_UPLOAD_MAX_MEMORY_SIZE: Django's
    RequestDataTooBig becomes a French 413, not a bare 400 (issue 15)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/connexion/", {"username": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    html = framed(response)
    assert "Requête trop volumineuse" in html and "hors fichiers joints" in html
    # Under /api/, the same refusal in JSON.
    response = client.post("/api/simulation", {"essms": "x" * 5000})
    assert response.status_code == 413
    assert response.json()["detail"] == "Requête trop volumineuse"
    assert "(1 Ko au plus, hors fichiers joints)" in response.json()["errors"][0]


def test_the_footer_pages_are_french_pages_of_the_site(client):
    for url, heading in [
        ("/accessibilite/", "Déclaration d'accessibilité"),
        ("/mentions-legales/", "Mentions légales"),
        ("/donnees-personnelles/", "Données personnelles"),
        ("/plan-du-site/", "Plan du site"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert f"<h1>{heading}</h1>" in framed(response)


def test_sign_in_lands_on_the_home_page_with_a_message(users):
    client = Client()
    response = client.post("/connexion/", {"username": "ars_bretagne", "password": "x"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    html = response.content.decode()
    assert "Vous êtes connecté(e)." in html
    assert "Dossiers à instruire dans ma région (Bretagne)" in html


def test_a_session_lost_during_a_post_lands_on_the_page_not_a_405(users):
    """The login redirect of POST /dossiers/<ref>/message/ carries that URL in `next`: the sign-in lands on the
    dossier's page, which a GET shows."""
    assert page_to_land_on("/dossiers/ESMS-2024-0001/message/") == "/dossiers/ESMS-2024-0001/"
    assert page_to_land_on("/dossiers/ESMS-2024-0001/pieces/7/retirer/") == "/dossiers/ESMS-2024-0001/"
    assert page_to_land_on("/dossiers/?etat=depose") == "/dossiers/?etat=depose"
    assert page_to_land_on("/simulateur/apercu/") == "/simulateur/"
    client = Client()
    page = client.get("/connexion/", {"next": "/dossiers/ESMS-2024-0001/message/"}).content.decode()
    assert 'id="login-next"' in page and "Si votre session a expiré" in page
    response = client.post(
        "/connexion/", {"username": "porteur", "password": "x", "next": "/dossiers/ESMS-2024-0001/message/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dossiers/ESMS-2024-0001/"
    # An address of another site is never followed.
    response = Client().post(
        "/connexion/", {"username": "porteur", "password": "x", "next": "https://ailleurs.example/"}
    )
    assert response["Location"] == "/"


def test_sign_out_is_a_form_and_says_so_in_french(users):
    client = signed_in(users["porteur"])
    page = client.get("/deconnexion/")
    assert page.status_code == 200 and 'id="logout-form"' in page.content.decode()
    response = client.post("/deconnexion/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    html = response.content.decode()
    assert "Vous êtes déconnecté(e)" in html and "Se connecter" in html
    assert client.get("/dossiers/").status_code == 302  # signed out indeed


def filed(users, count=3):
    porteur = users["porteur"]
    dossier = create_dossier(porteur, "Grappe déposée", "2024", grappe(count))
    for code in STANDARD_PIECES:
        add_piece(porteur, dossier, code, SimpleUploadedFile(f"{code}.pdf", b"%PDF-1.4\n%%EOF\n"))
    dossier.refresh_from_db()
    return apply_transition(porteur, dossier, "deposer", dossier.version)


def test_each_role_home_page_lists_what_awaits_it(users):
    draft = create_dossier(users["porteur"], "Mon brouillon", "2024", grappe(2))
    dossier = filed(users)

    porteur = signed_in(users["porteur"]).get("/").content.decode()
    assert "Brouillons à compléter et déposer" in porteur and draft.reference in porteur
    assert "Compléments demandés" in porteur

    ars = signed_in(users["ars"]).get("/").content.decode()
    assert "Dossiers à instruire dans ma région (Bretagne)" in ars and dossier.reference in ars
    assert draft.reference not in ars  # a draft is the porteur's own
    assert "Prochains comités" in ars

    other_ars = signed_in(users["autre_ars"]).get("/").content.decode()
    assert dossier.reference not in other_ars

    national = signed_in(users["national"]).get("/").content.decode()
    assert "Dossiers à instruire par la CNSA/DNS (guichet national et dossiers transmis par une ARS)" in national
    assert dossier.reference not in national
    assert "Paiements SONS à verser" in national

    observer = signed_in(users["observateur"]).get("/").content.decode()
    assert "Dossiers en déploiement dans la région (Bretagne)" in observer

    visitor = Client().get("/").content.decode()
    assert "Simuler un projet" in visitor and "Quel dispositif pour mon DUI ?" in visitor


# ---------------------------------------------------------------------------------------------------------------
# The simulator and the SONS checklist (issue 12)

GRAPPE_LINE = "350000022;PA;acquisition;35;12"


def simulation(**overrides):
    data = {"campaign": "2024", "filed_on": "2024-03-10", "segur_referenced": "on", "essms": GRAPPE_LINE}
    data.update(overrides)
    return data


def test_the_simulator_shows_sources_by_title_and_hides_parameter_paths_behind_a_disclosure(client):
    html = client.post("/simulateur/", simulation()).content.decode()
    public, technical = html.split('<details class="fr-mt-2w esms-technical" id="technical-detail">', 1)
    technical = technical.split("</details>", 1)[0]
    assert "<summary>Détail technique</summary>" in technical
    assert "esms_numerique/2024/funding/usage.acquisition_full_rate" in technical
    assert "001_098b5f25fa5a095c.txt" in technical
    # Outside the disclosure: the text's title and paragraph, never a parameter path or a seed file.
    assert "<cite>ARS Bretagne, appel à projets ESMS numérique, phase de généralisation 2024</cite>, 3.3.2 1)" in public
    assert "esms_numerique/2024/funding" not in public and ".txt" not in public and "decisions.md" not in public
    assert "reviewed" not in html
    # The form is sent to the result's anchor: the page opens on it.
    assert 'action="/simulateur/#resultat"' in html and 'id="resultat"' in html


def test_a_visitor_pastes_a_bounded_grappe(client, users):
    lines = "\n".join(f"{n:09d};PA;acquisition;35;12" for n in range(301))
    response = client.post("/simulateur/", simulation(essms=lines))
    assert response.status_code == 400
    errors = response.context["errors"]
    assert errors == [
        "La liste compte 301 lignes d'ESSMS : le simulateur sans compte en accepte 300 au plus. Connectez-vous pour "
        "simuler une grappe plus grande, ou utilisez l'API (POST /api/simulation)."
    ]
    assert response.context["result"] is None
    too_long = client.post("/simulateur/", simulation(essms="\n".join([GRAPPE_LINE + ";" + "9" * 100] * 250)))
    assert "30\u202f000 au plus" in too_long.context["errors"][0]
    # Signed in, the platform's own cap applies: the bound of the anonymous page is not reached.
    assert signed_in(users["porteur"]).post("/simulateur/", simulation(essms=lines)).context["errors"] != errors


def test_a_finess_alone_with_a_bad_key_says_the_key(client):
    response = client.post("/simulateur/", simulation(essms="350000023"))
    assert response.context["errors"] == [
        "ligne 1, FINESS ET : le FINESS ET « 350000023 » a une clé de contrôle fausse (9e chiffre 3 ; la clé de "
        "35000002 est 2)"
    ]


def test_a_letter_outside_corsica_is_named(client):
    response = client.post("/simulateur/", simulation(essms="35500A001"))
    (error,) = response.context["errors"]
    assert "« A » en 6e position" in error and "2A ou 2B" in error and "9 caractères" not in error
    # Described in full, the line is simulated and the finding says the same.
    response = client.post("/simulateur/", simulation(essms="35500A001;PA;acquisition;35;12\n" + GRAPPE_LINE))
    finding = next(f for f in response.context["result"].findings if f.finess_et == "35500A001")
    assert "« A » en 6e position" in finding.message


def test_the_porteur_finess_ej_is_checked(client):
    response = client.post("/simulateur/", simulation(porteur_finess_ej="12345"))
    assert response.status_code == 400
    assert response.context["errors"] == [
        "Le FINESS EJ du porteur « 12345 » n'a pas la forme d'un numéro FINESS : 5 caractères au lieu de 9"
    ]


def checklist(client, **query):
    return client.get("/sons/", {"situation": "montee_version", "referencing": "reference", **query})


def test_the_sons_checklist_asks_the_sector_and_the_date(client):
    no_sector = checklist(client, date="2024-03-15")
    assert no_sector.context["answer"] is None
    assert "indiquez le secteur de l'ESSMS" in no_sector.context["error"]

    # March 2024: MS1 (PA) orders closed on 10/01/2024.
    closed = checklist(client, secteur="PA", date="2024-03-15").context["answer"]
    assert closed.scheme == "esms_numerique"
    assert closed.title == (
        "Je ne peux plus commander de Prestation Ségur : les commandes du couloir MS1 ont fermé le 10/01/2024"
    )
    # The day before MS1 closed, and MS3 (AHI) in March 2024: SONS, with the couloir's last day.
    assert checklist(client, secteur="PA", date="2024-01-10").context["answer"].scheme == "sons"
    open_ahi = checklist(client, secteur="AHI", date="2024-03-15").context["answer"]
    assert open_ahi.scheme == "sons"
    assert open_ahi.steps[0].startswith("La commande est signée dans le couloir MS3")
    assert "30/09/2024 (date prévisionnelle)" in open_ahi.steps[0]
    # Without a date, the platform's date (11/03/2024 here) decides.
    assert checklist(client, secteur="PH").context["answer"].scheme == "esms_numerique"


def test_a_regional_follow_up_shows_the_region_as_a_contribution_to_the_national_target(users):
    """No regional target in the texts (DECISION D-FOLLOW-UP-REGION): the ARS reads its region's active DUI as its
    share of the national 410 000, labelled national; the national team reads the national view."""
    from esms_numerique.www.dashboard_views import regional_view

    ars = signed_in(users["ars"]).get("/suivi/")
    html = ars.content.decode()
    assert ars.context["region"]["code"] == "53" and ars.context["region"]["name"] == "Bretagne"
    assert "DUI actifs en Bretagne" in html
    assert "Contribution de la région à la cible <strong>nationale</strong> de 410\u202f000 DUI actifs" in html
    assert "Les textes ne fixent pas de cible régionale." in html
    national = signed_in(users["national"]).get("/suivi/")
    assert national.context["region"] is None
    assert "sur 410\u202f000 visés" in national.content.decode()

    active = {"rows": [{"region": "53", "active": 41_000}, {"region": "11", "active": 5}], "target": 410_000}
    view = regional_view(ars.wsgi_request.access, active)
    assert (view["active"], view["share"]) == (41_000, 0.1)


def test_a_form_sent_with_a_stale_token_is_a_french_page(users):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/connexion/", {"username": "porteur", "password": "x"})
    assert response.status_code == 403
    html = framed(response)
    assert "Formulaire expiré" in html and "rechargez la page" in html


def test_the_instructor_home_lists_the_dossiers_assigned_to_them(users):
    from esms_numerique.instruction.models import Assignment

    dossier = filed(users)
    before = signed_in(users["ars"]).get("/").content.decode()
    assert "Aucun dossier ne vous est attribué." in before
    Assignment.objects.create(dossier=dossier, instructor=users["ars"], assigned_by=users["ars"])
    after = signed_in(users["ars"]).get("/")
    (mine,) = [s for s in after.context["sections"] if s.key == "a-moi"]
    assert [d.reference for d in mine.rows] == [dossier.reference]


def test_a_grappe_completed_from_the_registry_shows_no_internal_reference_to_the_public(client, registry):
    from tests.dossiers.conftest import GRAPPE_FINESS

    essms = "\n".join(GRAPPE_FINESS[:3])
    html = client.post("/simulateur/", simulation(essms=essms, operation="acquisition")).content.decode()
    public = html.split('id="technical-detail"', 1)[0]
    assert "<cite>Choix de la plateforme là où les textes se taisent</cite>, D-SECTOR-MAP" in public
    for internal in ("reviewed", ".txt", "esms_numerique/", "decisions.md", "SPEC"):
        assert internal not in public, internal
    assert "reviewed" in html.split('id="technical-detail"', 1)[1]  # the full reference, for those who ask
