from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from esms_numerique.api.api import api

urlpatterns = [
    # The admin's address is the deployment's own (ADMIN_PATH, docs/decisions.md, D-AUDIT-KEY).
    path(settings.ADMIN_PATH, admin.site.urls),
    path("api/", api.urls),
    path("", include("esms_numerique.www.urls")),
]

if settings.OIDC_ENABLED:
    urlpatterns.insert(0, path("oidc/", include("mozilla_django_oidc.urls")))

# French error pages inside the site's frame (esms_numerique/www/site_views.py); JSON under /api/.
handler400 = "esms_numerique.www.site_views.bad_request"
handler403 = "esms_numerique.www.site_views.permission_denied"
handler404 = "esms_numerique.www.site_views.page_not_found"
handler500 = "esms_numerique.www.site_views.server_error"
