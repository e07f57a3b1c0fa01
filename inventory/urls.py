from django.urls import path

from .api import ProductCreateApi, ProductRestockApi

urlpatterns = [
    path("products/", ProductCreateApi.as_view(), name="product-create"),
    path("products/<str:sku>/restock/", ProductRestockApi.as_view(), name="product-restock"),
]
