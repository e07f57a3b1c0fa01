"""The order sagas, as the business runs them: the steps in order, the command each one sends,
the command that undoes it, and the failures that are final. The engine (``sagas``) does the
rest. The commands are the other contexts' published contracts; nothing else of them is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from inventory.contracts import OUT_OF_STOCK, ReleaseStock, ReserveStock, ShipStock
from payments.contracts import PAYMENT_DECLINED, ChargePayment, RefundPayment
from sagas.definition import Recovery, SagaDefinition, SagaFailure, Step, register
from shipping.contracts import UNDELIVERABLE, CancelShipment, DispatchShipment, ScheduleShipment

from .contracts import ConfirmOrder, MarkCancelled, RejectOrder


@dataclass(frozen=True)
class OrderedLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ShipTo:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


@dataclass(frozen=True)
class OrderToFulfil:
    """What the place-order saga carries: the accepted order, and why it failed, if it did."""

    order_id: UUID
    customer_id: UUID
    total: Decimal
    lines: tuple[OrderedLine, ...]
    address: ShipTo
    failure: SagaFailure | None = None


@dataclass(frozen=True)
class PlacedOrder:
    """What cancelling or dispatching an order needs: which order."""

    order_id: UUID


PLACE_ORDER = register(
    SagaDefinition(
        type="place_order",
        data=OrderToFulfil,
        steps=(
            # Done by the command that accepts the order; undone last, by rejecting it.
            Step("place_order", command=None, compensation=RejectOrder.for_order),
            Step(
                "reserve_stock",
                command=ReserveStock.for_order,
                compensation=ReleaseStock.for_order,
                business_failures=frozenset({OUT_OF_STOCK}),
            ),
            Step(
                "charge_payment",
                command=ChargePayment.for_order,
                compensation=RefundPayment.for_order,
                business_failures=frozenset({PAYMENT_DECLINED}),
            ),
            Step(
                "schedule_shipment",
                command=ScheduleShipment.for_order,
                compensation=CancelShipment.for_order,
                business_failures=frozenset({UNDELIVERABLE}),
            ),
            Step("confirm_order", command=ConfirmOrder.for_order),
        ),
    )
)

# A cancellation must go through once accepted: a step that keeps failing stops the saga FAILED
# for a person to resume, rather than un-cancelling half of the order.
CANCEL_ORDER = register(
    SagaDefinition(
        type="cancel_order",
        data=PlacedOrder,
        recovery=Recovery.FORWARD,
        steps=(
            Step("cancel_shipment", command=CancelShipment.for_order),
            Step("refund_payment", command=RefundPayment.for_order),
            Step("release_stock", command=ReleaseStock.for_order),
            Step("mark_cancelled", command=MarkCancelled.for_order),
        ),
    )
)

DISPATCH_ORDER = register(
    SagaDefinition(
        type="dispatch_order",
        data=PlacedOrder,
        recovery=Recovery.FORWARD,
        steps=(
            Step("dispatch_shipment", command=DispatchShipment.for_order),
            Step("ship_stock", command=ShipStock.for_order),
        ),
    )
)
