from rest_framework import serializers

from .models import Order


class OrderItemInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class ShippingAddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(
        r"^[A-Z]{2}$", max_length=2, error_messages={"invalid": "Use two upper-case letters, e.g. FR."}
    )


class PlaceOrderInputSerializer(serializers.Serializer):
    customer_id = serializers.UUIDField(required=False, help_text="Staff only; a customer omits it.")
    items = serializers.ListField(child=OrderItemInputSerializer(), min_length=1, max_length=100)
    shipping_address = ShippingAddressSerializer()


class PlaceOrderOutputSerializer(serializers.Serializer):
    order_id = serializers.UUIDField()
    saga_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    status_url = serializers.CharField()


class SagaStartedOutputSerializer(serializers.Serializer):
    saga_id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
