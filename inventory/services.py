from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db import transaction

from eventlog.services import event_append

from . import events
from .contracts import StockLine
from .models import MIN_PRICE, Product, StockMovement, StockReservation, StockReservationLine


@dataclass(frozen=True)
class ReservationOutcome:
    reserved: bool
    shortages: tuple[events.Shortage, ...] = ()


@transaction.atomic
def product_create(*, sku: str, name: str, price: Decimal, stock: int) -> Product:
    if price < MIN_PRICE:
        raise ValueError(f"a product's price must be at least {MIN_PRICE}, not {price}")
    product = Product.objects.create(sku=sku, name=name, price=price, on_hand=stock)
    if stock:
        StockMovement.objects.create(product=product, kind=StockMovement.Kind.RECEIVED, quantity=stock)
    event_append(events.ProductAdded(sku=sku, name=name, price=price, on_hand=stock), aggregate_id=sku)
    return product


class StockLimitExceeded(Exception):
    """A restock would take a product's units past what its row can hold."""


# The largest count a PositiveIntegerField holds on every database we run on.
MAX_UNITS = 2**31 - 1


@transaction.atomic
def product_restock(*, sku: str, quantity: int) -> Product:
    """Add received units. Raises ``Product.DoesNotExist`` for an unknown sku and
    ``StockLimitExceeded`` when the stock would outgrow its column."""
    if quantity < 1:
        raise ValueError("restock quantity must be positive")
    product = Product.objects.select_for_update().get(sku=sku)
    if product.on_hand + quantity > MAX_UNITS:
        raise StockLimitExceeded(
            f"{sku} holds {product.on_hand}; at most {MAX_UNITS - product.on_hand} more fit"
        )
    product.on_hand += quantity
    product.save(update_fields=["on_hand", "updated_at"])
    StockMovement.objects.create(product=product, kind=StockMovement.Kind.RESTOCKED, quantity=quantity)
    event_append(
        events.StockRestocked(sku=sku, quantity=quantity, on_hand=product.on_hand, reserved=product.reserved),
        aggregate_id=sku,
    )
    return product


def _locked_products(skus) -> dict[str, Product]:
    """Lock product rows in sku order: every transaction takes them in the same order, so
    concurrent reservations queue behind each other instead of deadlocking."""
    return {
        product.sku: product
        for product in Product.objects.select_for_update().filter(sku__in=skus).order_by("sku")
    }


@transaction.atomic(savepoint=False)
def stock_reserve(
    *, saga_id: UUID, step: str, order_id: UUID, lines: Iterable[StockLine]
) -> ReservationOutcome:
    """Hold every line's units for the order, or none of them."""
    if StockReservation.objects.filter(order_id=order_id).exists():
        return ReservationOutcome(reserved=True)
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    products = _locked_products(sorted(wanted))
    shortages = tuple(
        events.Shortage(sku, quantity, products[sku].available if sku in products else 0)
        for sku, quantity in sorted(wanted.items())
        if sku not in products or products[sku].available < quantity
    )
    if shortages:
        _append(events.StockReservationFailed(order_id=order_id, shortages=shortages), saga_id)
        return ReservationOutcome(reserved=False, shortages=shortages)

    reservation = StockReservation.objects.create(order_id=order_id, saga_id=saga_id)
    wanted_in_order = sorted(wanted.items())
    for sku, quantity in wanted_in_order:
        product = products[sku]
        product.reserved += quantity
        product.save(update_fields=["reserved", "updated_at"])
    StockReservationLine.objects.bulk_create(
        StockReservationLine(reservation=reservation, product=products[sku], quantity=quantity)
        for sku, quantity in wanted_in_order
    )
    StockMovement.objects.bulk_create(
        StockMovement(
            product=products[sku],
            kind=StockMovement.Kind.RESERVED,
            quantity=quantity,
            saga_id=saga_id,
            step=step,
        )
        for sku, quantity in wanted_in_order
    )
    levels = tuple(
        events.StockLevel(sku, quantity, products[sku].on_hand, products[sku].reserved)
        for sku, quantity in wanted_in_order
    )
    _append(events.StockReserved(order_id=order_id, lines=levels), saga_id)
    return ReservationOutcome(reserved=True)


@transaction.atomic(savepoint=False)
def stock_release_if_reserved(*, saga_id: UUID, step: str, order_id: UUID) -> bool:
    """Give an order's held units back. Nothing held (never reserved, released or shipped) is
    success with nothing to do, so the compensation can run any number of times."""
    return _close_reservation(
        saga_id=saga_id,
        step=step,
        order_id=order_id,
        status=StockReservation.Status.RELEASED,
        movement=StockMovement.Kind.RELEASED,
        event_type=events.StockReleased,
    )


@transaction.atomic(savepoint=False)
def stock_ship(*, saga_id: UUID, step: str, order_id: UUID) -> bool:
    """The order's units leave the warehouse: on hand and reserved both drop. True as well when
    they had left already: checked after the attempt, since a concurrent copy of this command
    may have shipped them while this one waited for the reservation's lock."""
    shipped_now = _close_reservation(
        saga_id=saga_id,
        step=step,
        order_id=order_id,
        status=StockReservation.Status.SHIPPED,
        movement=StockMovement.Kind.SHIPPED,
        event_type=events.StockShipped,
    )
    return (
        shipped_now
        or StockReservation.objects.filter(order_id=order_id, status=StockReservation.Status.SHIPPED).exists()
    )


def _close_reservation(*, saga_id, step, order_id, status, movement, event_type) -> bool:
    reservation = (
        StockReservation.objects.select_for_update()
        .filter(order_id=order_id, status=StockReservation.Status.RESERVED)
        .first()
    )
    if reservation is None:
        return False
    quantities = {line.product.sku: line.quantity for line in reservation.lines.select_related("product")}
    products = _locked_products(sorted(quantities))
    for sku, quantity in sorted(quantities.items()):
        product = products[sku]
        product.reserved -= quantity
        if status == StockReservation.Status.SHIPPED:
            product.on_hand -= quantity
        product.save(update_fields=["on_hand", "reserved", "updated_at"])
        StockMovement.objects.create(
            product=product, kind=movement, quantity=quantity, saga_id=saga_id, step=step
        )
    reservation.status = status
    reservation.save(update_fields=["status", "updated_at"])
    _append(event_type(order_id=order_id, lines=_stock_lines(reservation, products)), saga_id)
    return True


def _stock_lines(
    reservation: StockReservation, products: dict[str, Product]
) -> tuple[events.StockLevel, ...]:
    """Each line with the product's stock after the change, so a projection can set, not add."""
    return tuple(
        events.StockLevel(
            line.product.sku,
            line.quantity,
            products[line.product.sku].on_hand,
            products[line.product.sku].reserved,
        )
        for line in reservation.lines.select_related("product").order_by("product__sku")
    )


def _append(event: events.ReservationEvent, saga_id: UUID) -> None:
    event_append(event, aggregate_id=event.order_id, correlation_id=event.order_id, saga_id=saga_id)
