from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import Conflict

from . import engine
from .definition import registered_types
from .models import Saga
from .selectors import saga_list
from .serializers import SagaOutputSerializer


class SagaFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=Saga.State.choices)
    type = filters.ChoiceFilter(choices=lambda: [(name, name) for name in registered_types()])
    order_id = filters.UUIDFilter(field_name="subject_id")

    class Meta:
        model = Saga
        fields = ["state", "type", "order_id"]


class SagaListApi(ListAPIView):
    """Sagas, newest first (staff)."""

    permission_classes = [IsAdminUser]
    serializer_class = SagaOutputSerializer
    filterset_class = SagaFilter

    def get_queryset(self):
        return saga_list()

    @extend_schema(operation_id="sagas_list", tags=["sagas"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SagaDetailApi(RetrieveAPIView):
    permission_classes = [IsAdminUser]
    serializer_class = SagaOutputSerializer
    lookup_url_kwarg = "saga_id"

    def get_queryset(self):
        return saga_list()

    @extend_schema(operation_id="sagas_retrieve", tags=["sagas"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SagaRetryApi(APIView):
    """Resume a FAILED saga where it stopped (staff); any other state is a conflict."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="sagas_retry",
        request=None,
        responses={202: SagaOutputSerializer, 404: OpenApiResponse(), 409: OpenApiResponse()},
        tags=["sagas"],
    )
    def post(self, request, saga_id):
        get_object_or_404(Saga, pk=saga_id)
        try:
            engine.saga_retry(saga_id=saga_id, actor=request.user.get_username())
        except engine.SagaStateError as error:
            raise Conflict(str(error)) from None
        return Response(
            SagaOutputSerializer(saga_list().get(pk=saga_id)).data, status=status.HTTP_202_ACCEPTED
        )
