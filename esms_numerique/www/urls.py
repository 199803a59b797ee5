from django.contrib.auth import views as auth_views
from django.urls import path

from . import registry_views, views

app_name = "www"
urlpatterns = [
    path("", views.home, name="home"),
    path("simulateur/", views.simulator, name="simulator"),
    path("connexion/", auth_views.LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("repertoire/", registry_views.search, name="registry_search"),
    path("repertoire/<str:finess>/", registry_views.detail, name="registry_detail"),
    path("repertoire/<str:finess>/secteur/", registry_views.correct_sector, name="registry_correct_sector"),
]
