"""Saga commands the shipping context carries out (queue ``shipping``)."""

from sagas.participant import participant
from sagas.protocol import StepResult

from . import services
from .contracts import NOT_SCHEDULED, UNDELIVERABLE, CancelShipment, DispatchShipment, ScheduleShipment


@participant(ScheduleShipment)
def schedule_shipment(command: ScheduleShipment, *, saga_id, step) -> StepResult:
    outcome = services.shipment_schedule(saga_id=saga_id, order_id=command.order_id, address=command.address)
    if outcome.shipment is None:
        return StepResult.failed(UNDELIVERABLE, outcome.reason)
    return StepResult.ok({"tracking_number": outcome.shipment.tracking_number})


@participant(CancelShipment)
def cancel_shipment(command: CancelShipment, *, saga_id, step) -> StepResult:
    cancelled = services.shipment_cancel_if_scheduled(saga_id=saga_id, order_id=command.order_id)
    return StepResult.ok({"cancelled": cancelled})


@participant(DispatchShipment)
def dispatch_shipment(command: DispatchShipment, *, saga_id, step) -> StepResult:
    if services.shipment_dispatch(saga_id=saga_id, order_id=command.order_id):
        return StepResult.ok()
    return StepResult.failed(NOT_SCHEDULED, "the order has no scheduled shipment to dispatch")
