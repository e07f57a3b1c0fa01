from django.urls import path

from .api import CustomerCreateApi

urlpatterns = [
    path("customers/", CustomerCreateApi.as_view(), name="customer-create"),
]
