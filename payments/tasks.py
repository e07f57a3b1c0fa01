"""Saga commands the payments context carries out (queue ``payments``)."""

from sagas.participant import participant
from sagas.protocol import StepResult

from . import services
from .contracts import PAYMENT_DECLINED, ChargePayment, RefundPayment


@participant(ChargePayment)
def charge_payment(command: ChargePayment, *, saga_id, step) -> StepResult:
    outcome = services.payment_charge(
        saga_id=saga_id,
        step=step,
        order_id=command.order_id,
        customer_id=command.customer_id,
        amount=command.amount,
    )
    if outcome.charged:
        return StepResult.ok({"amount": str(command.amount)})
    return StepResult.failed(
        PAYMENT_DECLINED, f"{command.amount} requested, {outcome.credit_available} of credit available"
    )


@participant(RefundPayment)
def refund_payment(command: RefundPayment, *, saga_id, step) -> StepResult:
    refunded = services.payment_refund_if_charged(saga_id=saga_id, step=step, order_id=command.order_id)
    return StepResult.ok({"refunded": refunded})
