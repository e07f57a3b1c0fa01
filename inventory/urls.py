from django.urls import path

from .api import ProductRestockApi

urlpatterns = [
    path("products/<str:sku>/restock/", ProductRestockApi.as_view(), name="product-restock"),
]
