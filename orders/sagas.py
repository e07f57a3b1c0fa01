"""The order sagas, as the business runs them. The engine (``sagas``) does the rest."""

from sagas.definition import Recovery, SagaDefinition, Step, register

PLACE_ORDER = register(
    SagaDefinition(
        type="place_order",
        steps=(
            # Done by the command that accepts the order; undone last, by rejecting it.
            Step("place_order", action=None, compensation="orders.reject_order"),
            Step(
                "reserve_stock",
                action="inventory.reserve_stock",
                compensation="inventory.release_stock",
                business_failures=frozenset({"OUT_OF_STOCK"}),
            ),
            Step(
                "charge_payment",
                action="payments.charge_payment",
                compensation="payments.refund_payment",
                business_failures=frozenset({"PAYMENT_DECLINED"}),
            ),
            Step(
                "schedule_shipment",
                action="shipping.schedule_shipment",
                compensation="shipping.cancel_shipment",
                business_failures=frozenset({"UNDELIVERABLE"}),
            ),
            Step("confirm_order", action="orders.confirm_order"),
        ),
    )
)

# A cancellation must go through once accepted: a step that keeps failing stops the saga FAILED
# for a person to resume, rather than un-cancelling half of the order.
CANCEL_ORDER = register(
    SagaDefinition(
        type="cancel_order",
        recovery=Recovery.FORWARD,
        steps=(
            Step("cancel_shipment", action="shipping.cancel_shipment"),
            Step("refund_payment", action="payments.refund_payment"),
            Step("release_stock", action="inventory.release_stock"),
            Step("mark_cancelled", action="orders.mark_cancelled"),
        ),
    )
)

DISPATCH_ORDER = register(
    SagaDefinition(
        type="dispatch_order",
        recovery=Recovery.FORWARD,
        steps=(
            Step("dispatch_shipment", action="shipping.dispatch_shipment"),
            Step("ship_stock", action="inventory.ship_stock"),
        ),
    )
)
