from rest_framework import serializers

from .models import MIN_PRICE, SKU_PATTERN, Product


class ProductCreateInputSerializer(serializers.Serializer):
    sku = serializers.RegexField(SKU_PATTERN, max_length=64)
    name = serializers.CharField(max_length=200)
    price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=MIN_PRICE,
        error_messages={
            "min_value": "A price must be at least {min_value}: every order is charged its total."
        },
    )
    stock = serializers.IntegerField(min_value=0, max_value=1_000_000_000, default=0)

    def validate_sku(self, sku: str) -> str:
        if Product.objects.filter(sku=sku).exists():
            raise serializers.ValidationError("A product with this sku already exists.")
        return sku


class RestockInputSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000_000)


class ProductOutputSerializer(serializers.ModelSerializer):
    """The write side's view of a product, answered by its commands."""

    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = ["sku", "name", "price", "on_hand", "reserved", "available"]
        read_only_fields = fields
