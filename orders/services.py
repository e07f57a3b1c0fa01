from decimal import Decimal
from uuid import UUID, uuid4

from django.db import transaction

from eventlog.services import appends_last, event_append
from sagas.engine import saga_start

from . import events, ports
from .models import Order, OrderLine
from .sagas import CANCEL_ORDER, DISPATCH_ORDER, PLACE_ORDER, OrderedLine, OrderToFulfil, PlacedOrder, ShipTo

CONFLICT_REASONS = {
    Order.Status.PENDING: "the order is still being placed",
    Order.Status.CANCELLING: "the order is being cancelled",
    Order.Status.CANCELLED: "the order is already cancelled",
    Order.Status.REJECTED: "the order was rejected",
    Order.Status.SHIPPED: "the order has already been dispatched",
}


class OrderConflict(Exception):
    """The order's status does not allow this command now."""


class UnknownProducts(Exception):
    def __init__(self, skus: list[str]):
        super().__init__(f"unknown sku: {', '.join(skus)}")
        self.skus = skus


def _append(order: Order, event_type: type[events.OrderEvent], **data) -> None:
    """Every order event carries the order's state after it, so a projection needs no lookup."""
    event = event_type(
        order_id=order.pk,
        customer_id=order.customer_id,
        status=order.status,
        version=order.version,
        total=order.total,
        **data,
    )
    event_append(event, aggregate_id=order.pk, correlation_id=order.pk, saga_id=order.saga_id)


def _transition(order: Order, status: str, event_type: type[events.OrderMoved], **data) -> None:
    previous_status = order.status
    order.status = status
    order.version += 1
    order.save()
    _append(order, event_type, previous_status=previous_status, **data)


def _locked_order(order_id: UUID) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


@transaction.atomic
@appends_last()
def order_place(*, customer_id: UUID, items: list[dict], address: dict) -> Order:
    """Accept an order at today's prices and start the saga that fulfils it."""
    quantities: dict[str, int] = {}
    for item in items:
        quantities[item["sku"]] = quantities.get(item["sku"], 0) + item["quantity"]
    products = ports.catalog().product_snapshots(quantities)
    unknown = sorted(set(quantities) - set(products))
    if unknown:
        raise UnknownProducts(unknown)

    total = sum((products[sku]["price"] * quantity for sku, quantity in quantities.items()), Decimal("0.00"))
    order = Order.objects.create(
        customer_id=customer_id,
        total=total,
        saga_id=uuid4(),
        ship_to_name=address["name"],
        ship_to_line1=address["line1"],
        ship_to_city=address["city"],
        ship_to_postal_code=address["postal_code"],
        ship_to_country=address["country"],
    )
    lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            sku=sku,
            name=products[sku]["name"],
            quantity=quantity,
            unit_price=products[sku]["price"],
        )
        for sku, quantity in sorted(quantities.items())
    )
    _append(
        order,
        events.OrderPlaced,
        items=tuple(
            events.PlacedLine(line.sku, line.name, line.quantity, line.unit_price, line.line_total)
            for line in lines
        ),
        shipping_address=events.ShippingAddress(**address),
    )
    saga_start(
        definition=PLACE_ORDER,
        saga_id=order.saga_id,
        subject_id=order.pk,
        data=OrderToFulfil(
            order_id=order.pk,
            customer_id=customer_id,
            total=total,
            lines=tuple(OrderedLine(line.sku, line.quantity) for line in lines),
            address=ShipTo(**address),
        ),
    )
    return order


@transaction.atomic(savepoint=False)
def order_confirm(*, order_id: UUID) -> bool:
    order = _locked_order(order_id)
    if order.status == Order.Status.CONFIRMED:
        return True
    if order.status != Order.Status.PENDING:
        return False
    _transition(order, Order.Status.CONFIRMED, events.OrderConfirmed)
    return True


@transaction.atomic(savepoint=False)
def order_reject(*, order_id: UUID, failure_code: str, failure_detail: str) -> None:
    """The place-order saga failed and undid its steps: the order ends REJECTED with the reason."""
    order = _locked_order(order_id)
    if order.status == Order.Status.REJECTED:
        return
    order.failure_reason = f"{failure_code}: {failure_detail}"[:500]
    _transition(
        order,
        Order.Status.REJECTED,
        events.OrderRejected,
        failure_code=failure_code,
        failure_reason=order.failure_reason,
    )


@transaction.atomic
def order_cancel(*, order_id: UUID) -> Order:
    """Start cancelling a confirmed order whose parcel has not left. Raises ``OrderConflict``."""
    return _start_from_confirmed(
        order_id, "cancel", Order.Status.CANCELLING, events.OrderCancellationRequested, CANCEL_ORDER
    )


@transaction.atomic(savepoint=False)
def order_mark_cancelled(*, order_id: UUID) -> bool:
    order = _locked_order(order_id)
    if order.status == Order.Status.CANCELLED:
        return True
    if order.status != Order.Status.CANCELLING:
        return False
    _transition(order, Order.Status.CANCELLED, events.OrderCancelled)
    return True


@transaction.atomic
def order_dispatch(*, order_id: UUID) -> Order:
    """Send a confirmed order: it is SHIPPED now; shipping and inventory follow. Raises
    ``OrderConflict`` for any other status, which also makes a second dispatch a conflict."""
    return _start_from_confirmed(
        order_id, "dispatch", Order.Status.SHIPPED, events.OrderShipped, DISPATCH_ORDER
    )


def _start_from_confirmed(
    order_id: UUID, command: str, status: str, event_type: type[events.OrderMoved], definition
) -> Order:
    """The semantic lock: only a CONFIRMED order, under its row lock, takes a command that
    starts another saga; its status changes in the same transaction, so a second command waits
    for the lock and then finds the new status."""
    order = _locked_order(order_id)
    if order.status != Order.Status.CONFIRMED:
        raise OrderConflict(f"cannot {command}: {CONFLICT_REASONS[order.status]} ({order.status})")
    order.saga_id = uuid4()
    _transition(order, status, event_type)
    saga_start(definition=definition, saga_id=order.saga_id, subject_id=order.pk, data=PlacedOrder(order.pk))
    return order
