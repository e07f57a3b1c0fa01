"""Saga commands the orders context carries out (queue ``orders``), and its housekeeping."""

from celery import shared_task

from sagas.participant import participant
from sagas.protocol import StepResult

from . import idempotency, services


@participant("orders.confirm_order")
def confirm_order(*, saga_id, step, data) -> StepResult:
    if services.order_confirm(order_id=data["order_id"]):
        return StepResult.ok()
    return StepResult.failed("ORDER_NOT_PENDING", "only a PENDING order can be confirmed")


@participant("orders.reject_order")
def reject_order(*, saga_id, step, data) -> StepResult:
    failure = data.get("failure", {})
    services.order_reject(
        order_id=data["order_id"],
        failure_code=failure.get("code", "REJECTED"),
        failure_detail=failure.get("detail", ""),
    )
    return StepResult.ok()


@participant("orders.mark_cancelled")
def mark_cancelled(*, saga_id, step, data) -> StepResult:
    if services.order_mark_cancelled(order_id=data["order_id"]):
        return StepResult.ok()
    return StepResult.failed("ORDER_NOT_CANCELLING", "only a CANCELLING order can be marked cancelled")


@shared_task(name="orders.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    return idempotency.purge_expired()
