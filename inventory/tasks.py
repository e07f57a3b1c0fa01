"""Saga commands the inventory context carries out (queue ``inventory``)."""

from sagas.participant import participant
from sagas.protocol import StepResult

from . import services


@participant("inventory.reserve_stock")
def reserve_stock(*, saga_id, step, data) -> StepResult:
    outcome = services.stock_reserve(
        saga_id=saga_id, step=step, order_id=data["order_id"], lines=data["lines"]
    )
    if outcome.reserved:
        return StepResult.ok()
    detail = ", ".join(
        f"{s['sku']}: {s['requested']} requested, {s['available']} available" for s in outcome.shortages
    )
    return StepResult.failed("OUT_OF_STOCK", detail)


@participant("inventory.release_stock")
def release_stock(*, saga_id, step, data) -> StepResult:
    released = services.stock_release_if_reserved(saga_id=saga_id, step=step, order_id=data["order_id"])
    return StepResult.ok({"released": released})


@participant("inventory.ship_stock")
def ship_stock(*, saga_id, step, data) -> StepResult:
    if services.stock_ship(saga_id=saga_id, step=step, order_id=data["order_id"]):
        return StepResult.ok()
    return StepResult.failed("NOT_RESERVED", "the order holds no reserved stock to ship")
