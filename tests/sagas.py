"""Helpers for saga tests that run against a real worker and beat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from ops import invariants, read_side
from orders.models import Order
from orders.sagas import OrderedLine, OrderToFulfil, ShipTo
from readmodels.models import ProjectorCheckpoint
from sagas import engine
from sagas.definition import definition_for, registered_types
from sagas.models import Direction, Saga, SagaStep
from sagas.protocol import Outcome, StepReply, StepResult

from .processes import wait_for

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
}
SAGA_TIMEOUT = 45


def order_body(items: list[tuple[str, int]], *, country: str = "GB", customer_id=None) -> dict:
    body = {
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
        "shipping_address": {**ADDRESS, "country": country},
    }
    if customer_id is not None:
        body["customer_id"] = str(customer_id)
    return body


def answer(
    saga_id,
    step: str,
    outcome: Outcome,
    *,
    direction=Direction.FORWARD,
    attempt: int = 1,
    result=None,
    error_code: str = "",
    error: str = "",
) -> None:
    """Record a participant's answer to a step in flight, as a reply from the broker would."""
    engine.reply_record(
        StepReply(
            saga_id, step, Direction(direction), attempt, StepResult(outcome, result or {}, error_code, error)
        )
    )


def participant_tasks() -> list[str]:
    """Every participant task the registered saga definitions send, forward and compensating."""
    return sorted(set().union(*(definition_for(saga_type).tasks() for saga_type in registered_types())))


def order_to_fulfil(**changes) -> OrderToFulfil:
    """Place-order saga data for an order that exists nowhere: for tests of the engine alone."""
    fields = {
        "order_id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "total": Decimal("50.00"),
        "lines": (OrderedLine("KB", 1),),
        "address": ShipTo(**ADDRESS, country="GB"),
    }
    return OrderToFulfil(**{**fields, **changes})


TERMINAL_STATES = (Saga.State.COMPLETED, Saga.State.COMPENSATED, Saga.State.FAILED)


def wait_for_saga(saga_id, *, states=TERMINAL_STATES, processes=(), timeout: float = SAGA_TIMEOUT) -> Saga:
    """The saga, once it is in one of ``states`` (any terminal state by default)."""
    wanted = set(states)
    return wait_for(
        lambda: Saga.objects.filter(pk=saga_id, state__in=wanted).first(),
        timeout=timeout,
        what=f"saga {saga_id} to reach {sorted(wanted)} (now {Saga.objects.filter(pk=saga_id).values_list('state', 'current_step').first()})",
        processes=processes,
    )


def wait_for_order(order_id, status: str, *, processes=(), timeout: float = SAGA_TIMEOUT) -> Order:
    return wait_for(
        lambda: Order.objects.filter(pk=order_id, status=status).first(),
        timeout=timeout,
        what=f"order {order_id} to be {status}",
        processes=processes,
    )


def wait_until_settled(*, processes=(), timeout: float = SAGA_TIMEOUT) -> None:
    wait_for(
        lambda: not Saga.objects.filter(state__in=Saga.ACTIVE_STATES).exists(),
        timeout=timeout,
        what="every saga to end",
        processes=processes,
    )


def assert_invariants() -> None:
    """Every invariant holds, the read side's included: wait for projection to reach the head
    of the log first (it normally has, within milliseconds of each commit)."""
    wait_for(read_side.caught_up, timeout=SAGA_TIMEOUT, what="projection to reach the head of the log")
    checks = invariants.run_all()
    broken = [f"{check.name}: {check.detail}" for check in checks if not check.ok]
    assert not broken, "invariants violated:\n" + "\n".join(broken)
    assert all(check.checked for check in checks), "every invariant is checked once sagas have ended"


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Rescues:
    """What the system's self-healing did: a regression that loses every first send, or every
    live projection, still ends every saga, only later; these counts are how a test notices."""

    resent: int = 0  # sends of a step beyond its first: the sweeper's, a retry's, an operator's
    timed_out: int = 0  # attempts the sweeper declared lost after their deadline
    caught_up: int = 0  # event applications the periodic catch-up made instead of live projection


NOTHING_RESCUED = Rescues()


def rescues() -> Rescues:
    histories = list(SagaStep.objects.values_list("history", flat=True))
    return Rescues(
        resent=sum(max(len(history) - 1, 0) for history in histories),
        timed_out=sum(1 for history in histories for entry in history if entry.get("outcome") == "TIMED_OUT"),
        caught_up=ProjectorCheckpoint.objects.aggregate(total=Sum("rescued_events"))["total"] or 0,
    )


def assert_nothing_rescued() -> None:
    """Every step done at its first send, and every event projected by its own trigger."""
    found = rescues()
    resent = [
        (name, direction, [(entry.get("outcome"), entry.get("error")) for entry in history])
        for name, direction, history in SagaStep.objects.values_list("name", "direction", "history")
        if len(history) > 1
    ]
    assert found == NOTHING_RESCUED, f"the happy path needed rescuing: {found}; re-sent: {resent}"
