"""The system's invariants, checked against the data: the operator's oracle and the tests'.

Some invariants relate two contexts (stock held vs orders confirmed; money taken vs orders
paid). They hold once no saga is in flight; while sagas run they are reported as not checked
rather than as violations.
"""

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from eventlog.models import Event
from inventory.models import Product, StockMovement, StockReservation, StockReservationLine
from orders.models import Order, OrderLine
from payments.models import Charge, Customer, Refund
from sagas.models import Saga

from . import read_side
from .checks import Check

PAID_STATUSES = (Order.Status.CONFIRMED, Order.Status.SHIPPED)
HOLDING_STATUSES = (Order.Status.CONFIRMED,)
# Side effects that must happen at most once per order, whatever is redelivered.
ONCE_PER_ORDER = (
    "StockReserved",
    "StockReleased",
    "StockShipped",
    "PaymentCharged",
    "PaymentRefunded",
    "ShipmentScheduled",
    "ShipmentCancelled",
    "ShipmentDispatched",
    "OrderConfirmed",
    "OrderRejected",
    "OrderCancelled",
)


def run_all(*, grace: timedelta = timedelta(seconds=5), rebuild: bool = True) -> list[Check]:
    settled = not Saga.objects.filter(state__in=Saga.ACTIVE_STATES).exists()
    projected = read_side.caught_up()
    checks = [
        check_stock_ledger(),
        check_reservations(),
        check_reserved_matches_orders(settled),
        check_credit(),
        check_money_matches_orders(settled),
        check_sagas_end(grace),
        check_effects_once(),
        read_side.check_orders(projected),
        read_side.check_products(projected),
        read_side.check_customers(projected),
    ]
    if rebuild:
        checks.append(read_side.check_rebuild_identical(projected))
    return checks


def check_stock_ledger() -> Check:
    """on hand = received + restocked - shipped, from the movement ledger; nothing negative."""
    moved: dict[int, Counter] = defaultdict(Counter)
    for product_id, kind, quantity in StockMovement.objects.values_list("product_id", "kind").annotate(
        quantity=Sum("quantity")
    ):
        moved[product_id][kind] = quantity
    wrong = []
    for product in Product.objects.all():
        ledger = moved[product.pk]
        expected = ledger["RECEIVED"] + ledger["RESTOCKED"] - ledger["SHIPPED"]
        if product.on_hand != expected or product.reserved < 0 or product.reserved > product.on_hand:
            wrong.append(
                f"{product.sku}: on hand {product.on_hand}, ledger says {expected}, reserved {product.reserved}"
            )
    return Check("stock: on hand + shipped = received + restocked", not wrong, "; ".join(wrong))


def check_reservations() -> Check:
    """reserved on each product = the units of the reservations still held."""
    held = dict(
        StockReservationLine.objects.filter(reservation__status=StockReservation.Status.RESERVED)
        .values_list("product__sku")
        .annotate(quantity=Sum("quantity"))
    )
    wrong = [
        f"{sku}: reserved {reserved}, reservations hold {held.get(sku, 0)}"
        for sku, reserved in Product.objects.values_list("sku", "reserved")
        if reserved != held.get(sku, 0)
    ]
    return Check("stock: reserved = units of held reservations", not wrong, "; ".join(wrong))


def check_reserved_matches_orders(settled: bool) -> Check:
    name = "stock: reserved = units of confirmed, undispatched orders"
    if not settled:
        return Check(name, True, "sagas in flight", checked=False)
    ordered = dict(
        OrderLine.objects.filter(order__status__in=HOLDING_STATUSES)
        .values_list("sku")
        .annotate(quantity=Sum("quantity"))
    )
    wrong = [
        f"{sku}: reserved {reserved}, confirmed orders hold {ordered.get(sku, 0)}"
        for sku, reserved in Product.objects.values_list("sku", "reserved")
        if reserved != ordered.get(sku, 0)
    ]
    return Check(name, not wrong, "; ".join(wrong))


def _net_charged_by_customer() -> dict:
    charged = dict(Charge.objects.values_list("customer_id").annotate(total=Sum("amount")))
    refunded = dict(Refund.objects.values_list("charge__customer_id").annotate(total=Sum("amount")))
    return {
        customer_id: charged.get(customer_id, Decimal(0)) - refunded.get(customer_id, Decimal(0))
        for customer_id in set(charged) | set(refunded)
    }


def check_credit() -> Check:
    """credit available = limit - (charges - refunds), and never below zero."""
    net = _net_charged_by_customer()
    wrong = [
        f"{customer.name}: available {customer.credit_available}, limit {customer.credit_limit}, "
        f"net charged {net.get(customer.pk, Decimal(0))}"
        for customer in Customer.objects.all()
        if customer.credit_available != customer.credit_limit - net.get(customer.pk, Decimal(0))
        or customer.credit_available < 0
    ]
    return Check("money: credit available = limit - (charges - refunds)", not wrong, "; ".join(wrong))


def check_money_matches_orders(settled: bool) -> Check:
    name = "money: charges - refunds = totals of confirmed and shipped orders"
    if not settled:
        return Check(name, True, "sagas in flight", checked=False)
    net = _net_charged_by_customer()
    owed = dict(
        Order.objects.filter(status__in=PAID_STATUSES).values_list("customer_id").annotate(total=Sum("total"))
    )
    wrong = [
        f"customer {customer_id}: net charged {net.get(customer_id, Decimal(0))}, orders {owed.get(customer_id, Decimal(0))}"
        for customer_id in set(net) | set(owed)
        if net.get(customer_id, Decimal(0)) != owed.get(customer_id, Decimal(0))
    ]
    return Check(name, not wrong, "; ".join(wrong))


def check_sagas_end(grace: timedelta) -> Check:
    """Every saga is terminal, or running with its step's deadline not long past."""
    late = Saga.objects.filter(state__in=Saga.ACTIVE_STATES, deadline_at__lt=timezone.now() - grace)
    failed = Saga.objects.filter(state=Saga.State.FAILED).count()
    stuck = [
        f"{saga.type} {saga.pk} in {saga.current_step} since {saga.deadline_at:%H:%M:%S}"
        for saga in late[:10]
    ]
    detail = "; ".join(stuck)
    if failed:
        detail = f"{failed} FAILED saga(s) wait for an operator. {detail}".strip()
    return Check("sagas: each terminal or within its deadline", not stuck and not failed, detail)


def check_effects_once() -> Check:
    """Each side effect happened at most once per order, however often its command arrived."""
    repeated = (
        # Reservations, payments and shipments are known by their order's id: one per order.
        Event.objects.filter(type__in=ONCE_PER_ORDER)
        .values("type", "aggregate_id")
        .annotate(times=Count("position"))
        .filter(times__gt=1)
    )
    wrong = [f"{row['type']} x{row['times']} for order {row['aggregate_id']}" for row in repeated[:20]]
    return Check("effects: each (order, side effect) applied at most once", not wrong, "; ".join(wrong))
