"""Saga commands the shipping context carries out (queue ``shipping``)."""

from sagas.participant import participant
from sagas.protocol import StepResult

from . import services


@participant("shipping.schedule_shipment")
def schedule_shipment(*, saga_id, step, data) -> StepResult:
    outcome = services.shipment_schedule(saga_id=saga_id, order_id=data["order_id"], address=data["address"])
    if outcome.shipment is None:
        return StepResult.failed("UNDELIVERABLE", outcome.reason)
    return StepResult.ok({"tracking_number": outcome.shipment.tracking_number})


@participant("shipping.cancel_shipment")
def cancel_shipment(*, saga_id, step, data) -> StepResult:
    cancelled = services.shipment_cancel_if_scheduled(saga_id=saga_id, order_id=data["order_id"])
    return StepResult.ok({"cancelled": cancelled})


@participant("shipping.dispatch_shipment")
def dispatch_shipment(*, saga_id, step, data) -> StepResult:
    if services.shipment_dispatch(saga_id=saga_id, order_id=data["order_id"]):
        return StepResult.ok()
    return StepResult.failed("NOT_SCHEDULED", "the order has no scheduled shipment to dispatch")
