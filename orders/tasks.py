"""Saga commands the orders context carries out (queue ``orders``), and its housekeeping."""

from celery import shared_task

from sagas.participant import participant
from sagas.protocol import StepResult

from . import idempotency, services
from .contracts import ORDER_NOT_CANCELLING, ORDER_NOT_PENDING, ConfirmOrder, MarkCancelled, RejectOrder


@participant(ConfirmOrder)
def confirm_order(command: ConfirmOrder, *, saga_id, step) -> StepResult:
    if services.order_confirm(order_id=command.order_id):
        return StepResult.ok()
    return StepResult.failed(ORDER_NOT_PENDING, "only a PENDING order can be confirmed")


@participant(RejectOrder)
def reject_order(command: RejectOrder, *, saga_id, step) -> StepResult:
    services.order_reject(
        order_id=command.order_id, failure_code=command.failure_code, failure_detail=command.failure_reason
    )
    return StepResult.ok()


@participant(MarkCancelled)
def mark_cancelled(command: MarkCancelled, *, saga_id, step) -> StepResult:
    if services.order_mark_cancelled(order_id=command.order_id):
        return StepResult.ok()
    return StepResult.failed(ORDER_NOT_CANCELLING, "only a CANCELLING order can be marked cancelled")


@shared_task(name="orders.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    return idempotency.purge_expired()
