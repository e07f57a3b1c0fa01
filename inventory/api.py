from django.db import IntegrityError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .models import Product
from .serializers import ProductCreateInputSerializer, ProductOutputSerializer, RestockInputSerializer


class ProductCreateApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="products_create",
        description="Add a product with its initial stock (command; staff).",
        request=ProductCreateInputSerializer,
        responses={201: ProductOutputSerializer},
        tags=["products"],
    )
    def post(self, request):
        serializer = ProductCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            product = services.product_create(**serializer.validated_data)
        except IntegrityError:
            # Two requests raced past the uniqueness check; the database kept one of them.
            raise ValidationError({"sku": ["A product with this sku already exists."]}) from None
        return Response(ProductOutputSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductRestockApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="products_restock",
        request=RestockInputSerializer,
        responses={200: ProductOutputSerializer},
        tags=["products"],
    )
    def post(self, request, sku: str):
        get_object_or_404(Product, sku=sku)
        serializer = RestockInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            product = services.product_restock(sku=sku, **serializer.validated_data)
        except services.StockLimitExceeded as error:
            raise ValidationError({"quantity": [str(error)]}) from None
        return Response(ProductOutputSerializer(product).data)
