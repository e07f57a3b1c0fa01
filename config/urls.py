from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from ops.api import WorkerPingApi
from ops.views import favicon, healthz

from .auth import TokenObtainApi

api_patterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("", include("inventory.urls")),
    path("", include("payments.urls")),
    path("", include("orders.urls")),
    path("", include("sagas.urls")),
    path("ops/worker-pings/", WorkerPingApi.as_view(), name="worker-ping"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html"),
        name="redoc",
    ),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
]

admin.site.site_header = "Orders operations"
admin.site.site_title = "Orders operations"
