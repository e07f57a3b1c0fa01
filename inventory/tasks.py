"""Saga commands the inventory context carries out (queue ``inventory``)."""

from sagas.participant import participant
from sagas.protocol import StepResult

from . import services
from .contracts import NOT_RESERVED, OUT_OF_STOCK, ReleaseStock, ReserveStock, ShipStock


@participant(ReserveStock)
def reserve_stock(command: ReserveStock, *, saga_id, step) -> StepResult:
    outcome = services.stock_reserve(
        saga_id=saga_id, step=step, order_id=command.order_id, lines=command.lines
    )
    if outcome.reserved:
        return StepResult.ok()
    detail = ", ".join(
        f"{s.sku}: {s.requested} requested, {s.available} available" for s in outcome.shortages
    )
    return StepResult.failed(OUT_OF_STOCK, detail)


@participant(ReleaseStock)
def release_stock(command: ReleaseStock, *, saga_id, step) -> StepResult:
    released = services.stock_release_if_reserved(saga_id=saga_id, step=step, order_id=command.order_id)
    return StepResult.ok({"released": released})


@participant(ShipStock)
def ship_stock(command: ShipStock, *, saga_id, step) -> StepResult:
    if services.stock_ship(saga_id=saga_id, step=step, order_id=command.order_id):
        return StepResult.ok()
    return StepResult.failed(NOT_RESERVED, "the order holds no reserved stock to ship")
