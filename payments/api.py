from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .serializers import CustomerCreateInputSerializer, CustomerOutputSerializer


class CustomerCreateApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="customers_create",
        request=CustomerCreateInputSerializer,
        responses={201: CustomerOutputSerializer},
        tags=["customers"],
    )
    def post(self, request):
        serializer = CustomerCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            customer = services.customer_register(**serializer.validated_data)
        except IntegrityError:
            raise ValidationError({"username": ["A user with this username already exists."]}) from None
        return Response(CustomerOutputSerializer(customer).data, status=status.HTTP_201_CREATED)
