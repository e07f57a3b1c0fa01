from django.urls import path

from .api import CancelOrderApi, DispatchShipmentApi

urlpatterns = [
    path("orders/<uuid:order_id>/cancel/", CancelOrderApi.as_view(), name="order-cancel"),
    path("shipments/<uuid:order_id>/dispatch/", DispatchShipmentApi.as_view(), name="shipment-dispatch"),
]
