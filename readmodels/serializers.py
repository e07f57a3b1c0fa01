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


class BlankAsNullCharField(serializers.CharField):
    """Read models store '' for 'not yet'; the API says null."""

    def to_representation(self, value):
        return value or None


class OrderSagaSerializer(serializers.Serializer):
    """The saga fulfilling the order: its id, its state and the step in flight."""

    saga_id = serializers.UUIDField(allow_null=True)
    state = BlankAsNullCharField(source="saga_state", allow_null=True)
    current_step = BlankAsNullCharField(source="saga_current_step", allow_null=True)


class OrderSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=ORDER_STATUSES)
    items = OrderItemSerializer(many=True)
    payment_status = BlankAsNullCharField(allow_null=True)
    shipment_status = BlankAsNullCharField(allow_null=True)
    tracking_number = BlankAsNullCharField(allow_null=True)
    failure_reason = BlankAsNullCharField(allow_null=True)
    # The saga columns of the summary itself, serialised by one nested serializer for the page.
    saga = OrderSagaSerializer(source="*", read_only=True)

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
