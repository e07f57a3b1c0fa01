from uuid import UUID

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.exceptions import Conflict
from eventlog.services import last_appended_position

from . import idempotency, ports, services
from .models import Order
from .serializers import PlaceOrderInputSerializer, PlaceOrderOutputSerializer, SagaStartedOutputSerializer

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Makes a retry safe: the same key and body answer the first response again (kept 48 h).",
)
LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[202],
    required=True,
    description="The order's URL, the same as `status_url`.",
)
CONFLICT = OpenApiResponse(description="The order's status does not allow this command now.")


def order_url(order_id) -> str:
    return f"/api/orders/{order_id}/"


def own_customer_id(user) -> UUID | None:
    return ports.customers().customer_id_for_user(user.pk)


def visible_order(request, order_id) -> Order:
    """Staff see every order; a customer only its own, and others' do not exist for it."""
    order = get_object_or_404(Order, pk=order_id)
    if not request.user.is_staff and order.customer_id != own_customer_id(request.user):
        raise NotFound()
    return order


class PlaceOrderApi(APIView):
    @extend_schema(
        operation_id="orders_place",
        description=(
            "Place an order (command): answers 202 at once and starts the place-order saga "
            "(reserve stock, charge payment, schedule shipment, confirm). Follow `status_url`."
        ),
        request=PlaceOrderInputSerializer,
        parameters=[IDEMPOTENCY_HEADER, LOCATION_HEADER],
        responses={
            202: PlaceOrderOutputSerializer,
            403: OpenApiResponse(description="A customer named another customer."),
            409: OpenApiResponse(description="A request with this Idempotency-Key is still in flight."),
            422: OpenApiResponse(description="The Idempotency-Key was used for a different request."),
        },
        tags=["orders"],
    )
    def post(self, request):
        serializer = PlaceOrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer_id = self._customer_for(request, data.get("customer_id"))
        key = request.headers.get("Idempotency-Key")

        def place() -> idempotency.StoredResponse:
            try:
                order = services.order_place(
                    customer_id=customer_id, items=data["items"], address=dict(data["shipping_address"])
                )
            except services.UnknownProducts as error:
                raise ValidationError({"items": [f"Unknown sku: {sku}." for sku in error.skus]}) from None
            body = PlaceOrderOutputSerializer(
                {
                    "order_id": order.pk,
                    "saga_id": order.saga_id,
                    "status": order.status,
                    "status_url": order_url(order.pk),
                }
            ).data
            headers = {"Location": order_url(order.pk), "X-Event-Position": str(last_appended_position.get())}
            return idempotency.StoredResponse(status.HTTP_202_ACCEPTED, dict(body), headers)

        if key is None:
            answer = place()
        else:
            if not 1 <= len(key) <= 255:
                raise ValidationError({"Idempotency-Key": ["Use between 1 and 255 characters."]})
            fingerprint = idempotency.fingerprint(method="POST", path=request.path, body=request.data)
            try:
                answer = idempotency.replay_or_run(
                    user=request.user, key=key, request_fingerprint=fingerprint, run=place
                )
            except idempotency.KeyReused:
                return Response(
                    {"detail": "This Idempotency-Key was already used for a different request."},
                    status=status.HTTP_422_UNPROCESSABLE_ENTITY,
                )
        return Response(answer.body, status=answer.status, headers=answer.headers)

    @staticmethod
    def _customer_for(request, requested: UUID | None) -> UUID:
        own = own_customer_id(request.user)
        if request.user.is_staff:
            if requested is None:
                if own is None:
                    raise ValidationError({"customer_id": ["Staff must name the customer."]})
                return own
            if not ports.customers().customer_exists(requested):
                raise ValidationError({"customer_id": ["No customer with this id."]})
            return requested
        if own is None:
            raise PermissionDenied("Only customers and staff may place orders.")
        if requested is not None and requested != own:
            raise PermissionDenied("A customer may only order for itself.")
        return own


class CancelOrderApi(APIView):
    @extend_schema(
        operation_id="orders_cancel",
        request=None,
        responses={202: SagaStartedOutputSerializer, 404: OpenApiResponse(), 409: CONFLICT},
        tags=["orders"],
    )
    def post(self, request, order_id: UUID):
        visible_order(request, order_id)
        order = _or_conflict(services.order_cancel, order_id)
        return Response(
            SagaStartedOutputSerializer(
                {"saga_id": order.saga_id, "order_id": order.pk, "status": order.status}
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )


class DispatchShipmentApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="shipments_dispatch",
        request=None,
        responses={202: SagaStartedOutputSerializer, 404: OpenApiResponse(), 409: CONFLICT},
        tags=["shipments"],
    )
    def post(self, request, order_id: UUID):
        get_object_or_404(Order, pk=order_id)
        order = _or_conflict(services.order_dispatch, order_id)
        return Response(
            SagaStartedOutputSerializer(
                {"saga_id": order.saga_id, "order_id": order.pk, "status": order.status}
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )


def _or_conflict(command, order_id: UUID) -> Order:
    try:
        return command(order_id=order_id)
    except services.OrderConflict as conflict:
        raise Conflict(str(conflict)) from None
