from django.contrib.auth import views as auth_views
from django.urls import path

from . import after_decision_views, committee_views, dashboard_views, dossier_views, registry_views, sons_views, views
from .piece_views import piece_remove, piece_replace

app_name = "www"
urlpatterns = [
    path("", views.home, name="home"),
    path("simulateur/", views.simulator, name="simulator"),
    path("simulateur/apercu/", views.simulator_preview, name="simulator_preview"),
    path("dossiers/apercu/", dossier_views.dossier_preview, name="dossier_preview"),
    path("connexion/", auth_views.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("dossiers/", dossier_views.dossier_list, name="dossier_list"),
    path("dossiers/nouveau/", dossier_views.dossier_create, name="dossier_create"),
    path("dossiers/export.<str:fmt>", dossier_views.dossier_export, name="dossier_export"),
    path("dossiers/<str:reference>/", dossier_views.dossier_detail, name="dossier_detail"),
    path("dossiers/<str:reference>/modifier/", dossier_views.dossier_edit, name="dossier_edit"),
    path("dossiers/<str:reference>/action/", dossier_views.dossier_transition, name="dossier_transition"),
    # Before the generic « <document>.pdf » route, which would take « convention » for an unknown annex.
    path("dossiers/<str:reference>/convention.pdf", dossier_views.dossier_convention, name="dossier_convention"),
    path("dossiers/<str:reference>/<str:document>.pdf", dossier_views.dossier_document, name="dossier_document"),
    path("dossiers/<str:reference>/notification/", dossier_views.dossier_notification, name="dossier_notification"),
    path("dossiers/<str:reference>/montant/", dossier_views.dossier_revise_amount, name="dossier_revise_amount"),
    path(
        "dossiers/<str:reference>/paiements/<int:pk>/",
        after_decision_views.payment_action,
        name="dossier_payment_action",
    ),
    path(
        "dossiers/<str:reference>/reversements/<int:pk>/",
        after_decision_views.recovery_received,
        name="dossier_recovery_received",
    ),
    path("dossiers/<str:reference>/retrait/", after_decision_views.withdraw_essms, name="dossier_withdraw_essms"),
    path("dossiers/<str:reference>/transfert/", after_decision_views.transfer_dossier, name="dossier_transfer"),
    path("dossiers/<str:reference>/echeance/", after_decision_views.extend_deadline, name="dossier_extend_deadline"),
    path("dossiers/<str:reference>/mesures/", dossier_views.dossier_measurements, name="dossier_measurements"),
    path(
        "dossiers/<str:reference>/trajectoire.svg",
        dossier_views.dossier_trajectory_svg,
        name="dossier_trajectory",
    ),
    path("dossiers/<str:reference>/message/", dossier_views.dossier_message, name="dossier_message"),
    path("dossiers/<str:reference>/pieces/", dossier_views.dossier_piece_upload, name="dossier_piece_upload"),
    path(
        "dossiers/<str:reference>/pieces/<int:piece_id>/",
        dossier_views.dossier_piece_download,
        name="dossier_piece_download",
    ),
    path(
        "dossiers/<str:reference>/pieces/<int:piece_id>/remplacer/",
        piece_replace,
        name="dossier_piece_replace",
    ),
    path(
        "dossiers/<str:reference>/pieces/<int:piece_id>/retirer/",
        piece_remove,
        name="dossier_piece_remove",
    ),
    path("suivi/", dashboard_views.follow_up, name="follow_up"),
    path("suivi/export.<str:fmt>", dashboard_views.follow_up_export, name="follow_up_export"),
    path("suivi/graphique-<str:name>.svg", dashboard_views.follow_up_chart, name="follow_up_chart"),
    path("comites/", committee_views.committee_list, name="committee_list"),
    path("comites/<int:pk>/", committee_views.committee_detail, name="committee_detail"),
    path("comites/<int:pk>/inscrire/", committee_views.committee_add, name="committee_add"),
    path("comites/<int:pk>/decision/<int:item_id>/", committee_views.committee_decide, name="committee_decide"),
    path("sons/", sons_views.checklist, name="sons_checklist"),
    path("sons/commandes/", sons_views.order_list, name="order_list"),
    path("sons/commandes/nouvelle/", sons_views.order_create, name="order_create"),
    path("sons/commandes/export.<str:fmt>", sons_views.order_export, name="order_export"),
    path("sons/vue-par-og/", sons_views.side_by_side, name="sons_side_by_side"),
    path("sons/commandes/<str:reference>/", sons_views.order_detail, name="order_detail"),
    path("sons/commandes/<str:reference>/action/", sons_views.order_transition, name="order_transition"),
    path("sons/commandes/<str:reference>/va/", sons_views.order_va, name="order_va"),
    path(
        "sons/commandes/<str:reference>/reversements/<int:pk>/",
        sons_views.order_recovery_received,
        name="order_recovery_received",
    ),
    path("sons/commandes/<str:reference>/<str:document>.pdf", sons_views.order_document, name="order_document"),
    path("repertoire/", registry_views.search, name="registry_search"),
    path("repertoire/<str:finess>/", registry_views.detail, name="registry_detail"),
    path("repertoire/<str:finess>/secteur/", registry_views.correct_sector, name="registry_correct_sector"),
]
