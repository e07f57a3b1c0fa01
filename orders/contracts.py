"""What the orders context accepts and answers in a saga: its commands and failure codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol
from uuid import UUID

from sagas.contracts import Command
from sagas.definition import SagaFailure

ORDER_NOT_PENDING = "ORDER_NOT_PENDING"  # confirm_order found the order in another status
ORDER_NOT_CANCELLING = "ORDER_NOT_CANCELLING"  # mark_cancelled found it in another status


class _Order(Protocol):
    order_id: UUID


class _FailedOrder(_Order, Protocol):
    failure: SagaFailure | None


@dataclass(frozen=True)
class ConfirmOrder(Command):
    TASK: ClassVar[str] = "orders.confirm_order"
    order_id: UUID

    @classmethod
    def for_order(cls, order: _Order) -> ConfirmOrder:
        return cls(order.order_id)


@dataclass(frozen=True)
class RejectOrder(Command):
    """The order ends REJECTED; the reason is what its customer sees."""

    TASK: ClassVar[str] = "orders.reject_order"
    order_id: UUID
    failure_code: str
    failure_reason: str

    @classmethod
    def for_order(cls, order: _FailedOrder) -> RejectOrder:
        failure = order.failure or SagaFailure("REJECTED", "", "")
        return cls(order.order_id, failure.code, failure.detail)


@dataclass(frozen=True)
class MarkCancelled(Command):
    TASK: ClassVar[str] = "orders.mark_cancelled"
    order_id: UUID

    @classmethod
    def for_order(cls, order: _Order) -> MarkCancelled:
        return cls(order.order_id)
