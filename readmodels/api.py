"""Query endpoints: they read the read models and nothing else."""

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .consistency import MIN_POSITION_PARAMETER, ConsistentReadMixin
from .models import CustomerSummary, OrderSummary, ProductAvailability
from .serializers import (
    ORDER_STATUSES,
    CustomerSummarySerializer,
    OrderSerializer,
    ProductSerializer,
    TimelineEntrySerializer,
)


class ProductFilter(filters.FilterSet):
    # A choice rather than a BooleanFilter, which would quietly ignore a value like "maybe".
    in_stock = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_in_stock",
        label="true: only products with units available; false: only those without",
    )

    class Meta:
        model = ProductAvailability
        fields = ["in_stock"]

    def filter_in_stock(self, queryset, name, value):
        return queryset.filter(available__gt=0) if value == "true" else queryset.filter(available__lte=0)


class ProductListApi(ConsistentReadMixin, ListAPIView):
    """The catalogue with stock as projected from the event log (query side)."""

    projectors = ("product_availability",)
    serializer_class = ProductSerializer
    filterset_class = ProductFilter

    def get_queryset(self):
        return selectors.products()

    @extend_schema(operation_id="products_list", parameters=[MIN_POSITION_PARAMETER], tags=["products"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProductDetailApi(ConsistentReadMixin, RetrieveAPIView):
    projectors = ("product_availability",)
    serializer_class = ProductSerializer
    lookup_field = "sku"

    def get_queryset(self):
        return selectors.products()

    @extend_schema(operation_id="products_retrieve", parameters=[MIN_POSITION_PARAMETER], tags=["products"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=[(status, status) for status in ORDER_STATUSES])
    customer = filters.UUIDFilter(field_name="customer_id")

    class Meta:
        model = OrderSummary
        fields = ["status", "customer"]


class OrderListApi(ConsistentReadMixin, ListAPIView):
    """Orders, newest first; a customer sees only its own (query side)."""

    projectors = ("order_summary",)
    serializer_class = OrderSerializer
    filterset_class = OrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return OrderSummary.objects.none()
        return selectors.orders_visible_to(self.request.user).order_by("-created_at", "-order_id")

    @extend_schema(operation_id="orders_list", parameters=[MIN_POSITION_PARAMETER], tags=["orders"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderDetailApi(ConsistentReadMixin, RetrieveAPIView):
    projectors = ("order_summary",)
    serializer_class = OrderSerializer
    lookup_url_kwarg = "order_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OrderSummary.objects.none()
        return selectors.orders_visible_to(self.request.user)

    @extend_schema(operation_id="orders_retrieve", parameters=[MIN_POSITION_PARAMETER], tags=["orders"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OrderTimelineApi(ConsistentReadMixin, APIView):
    """The order's domain events, oldest first."""

    projectors = ("order_summary", "order_timeline")

    @extend_schema(
        operation_id="orders_timeline",
        parameters=[MIN_POSITION_PARAMETER],
        responses=TimelineEntrySerializer(many=True),
        tags=["orders"],
    )
    def get(self, request, order_id):
        get_object_or_404(selectors.orders_visible_to(request.user), pk=order_id)
        entries = selectors.order_timeline(order_id)
        return Response(TimelineEntrySerializer(entries, many=True).data)


class CustomerSummaryApi(ConsistentReadMixin, RetrieveAPIView):
    """A customer's orders and money; the customer itself or staff (query side)."""

    projectors = ("customer_summary",)
    serializer_class = CustomerSummarySerializer
    lookup_url_kwarg = "customer_id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CustomerSummary.objects.none()
        return selectors.customers_visible_to(self.request.user)

    @extend_schema(operation_id="customers_summary", parameters=[MIN_POSITION_PARAMETER], tags=["customers"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
