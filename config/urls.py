from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from inventory.api import ProductCreateApi
from observability.views import metrics
from ops.api import WorkerPingApi
from ops.views import favicon, healthz
from orders.api import PlaceOrderApi
from readmodels.api import (
    CustomerSummaryApi,
    OrderDetailApi,
    OrderListApi,
    OrderTimelineApi,
    ProductDetailApi,
    ProductListApi,
)

from .auth import TokenObtainApi
from .composition import command_and_query
from .errors import api_path_not_found

OrderCollectionApi = command_and_query(query=OrderListApi, command=PlaceOrderApi)
ProductCollectionApi = command_and_query(query=ProductListApi, command=ProductCreateApi)

api_patterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    # Query side (read models) and command side sharing a path.
    path("orders/", OrderCollectionApi.as_view(), name="orders"),
    path("products/", ProductCollectionApi.as_view(), name="products"),
    # Query side.
    path("orders/<uuid:order_id>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/timeline/", OrderTimelineApi.as_view(), name="order-timeline"),
    path("products/<str:sku>/", ProductDetailApi.as_view(), name="product-detail"),
    path("customers/<uuid:customer_id>/summary/", CustomerSummaryApi.as_view(), name="customer-summary"),
    # Command side.
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
    # Last: anything else under /api/, malformed ids included, answers JSON (config.errors).
    re_path(r"", api_path_not_found, name="api-not-found"),
]

urlpatterns = [
    path("admin/dashboard/", include("dashboard.urls")),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("favicon.ico", favicon),
]

admin.site.site_header = "Orders operations"
admin.site.site_title = "Orders operations"
admin.site.index_template = "dashboard/admin_index.html"

handler500 = "config.errors.server_error_or_unavailable"
handler404 = "config.errors.not_found"
