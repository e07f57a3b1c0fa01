"""Saga commands the payments context carries out (queue ``payments``)."""

from decimal import Decimal

from sagas.participant import participant
from sagas.protocol import StepResult

from . import services


@participant("payments.charge_payment")
def charge_payment(*, saga_id, step, data) -> StepResult:
    amount = Decimal(data["total"])
    outcome = services.payment_charge(
        saga_id=saga_id, step=step, order_id=data["order_id"], customer_id=data["customer_id"], amount=amount
    )
    if outcome.charged:
        return StepResult.ok({"amount": str(amount)})
    return StepResult.failed(
        "PAYMENT_DECLINED", f"{amount} requested, {outcome.credit_available} of credit available"
    )


@participant("payments.refund_payment")
def refund_payment(*, saga_id, step, data) -> StepResult:
    refunded = services.payment_refund_if_charged(saga_id=saga_id, step=step, order_id=data["order_id"])
    return StepResult.ok({"refunded": refunded})
