from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import CustomerSummary, OrderSummary, OrderTimelineEntry, ProductAvailability

ORDER_STATUSES = ("PENDING", "CONFIRMED", "REJECTED", "CANCELLING", "CANCELLED", "SHIPPED")


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductAvailability
        fields = ["sku", "name", "price", "on_hand", "reserved", "available"]
        read_only_fields = fields


class OrderItemSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class OrderSagaSerializer(serializers.Serializer):
    saga_id = serializers.UUIDField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    current_step = serializers.CharField(allow_null=True)


class BlankAsNullCharField(serializers.CharField):
    """Read models store '' for 'not yet'; the API says null."""

    def to_representation(self, value):
        return value or None


class OrderSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=ORDER_STATUSES)
    items = OrderItemSerializer(many=True)
    payment_status = BlankAsNullCharField(allow_null=True)
    shipment_status = BlankAsNullCharField(allow_null=True)
    tracking_number = BlankAsNullCharField(allow_null=True)
    failure_reason = BlankAsNullCharField(allow_null=True)
    saga = serializers.SerializerMethodField()

    class Meta:
        model = OrderSummary
        fields = [
            "order_id",
            "customer_id",
            "status",
            "items",
            "total",
            "payment_status",
            "shipment_status",
            "tracking_number",
            "failure_reason",
            "saga",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(OrderSagaSerializer)
    def get_saga(self, order: OrderSummary) -> dict:
        return OrderSagaSerializer(
            {
                "saga_id": order.saga_id,
                "state": order.saga_state or None,
                "current_step": order.saga_current_step or None,
            }
        ).data


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderTimelineEntry
        fields = ["position", "type", "occurred_at", "data"]
        read_only_fields = fields


class CustomerSummarySerializer(serializers.ModelSerializer):
    orders_by_status = serializers.DictField(child=serializers.IntegerField())

    class Meta:
        model = CustomerSummary
        fields = [
            "customer_id",
            "name",
            "credit_limit",
            "credit_available",
            "orders_count",
            "orders_by_status",
            "total_spent",
        ]
        read_only_fields = fields
