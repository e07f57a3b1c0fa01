"""What the payments context accepts and answers in a saga: its commands and failure codes.

Other contexts may import this module and nothing else of payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar, Protocol
from uuid import UUID

from sagas.contracts import Command

PAYMENT_DECLINED = "PAYMENT_DECLINED"  # a business failure: not enough credit


class _Order(Protocol):
    order_id: UUID


class _OrderToPay(_Order, Protocol):
    customer_id: UUID
    total: Decimal


@dataclass(frozen=True)
class ChargePayment(Command):
    """Take ``amount`` from the customer's credit for the order (``PAYMENT_DECLINED`` if short)."""

    TASK: ClassVar[str] = "payments.charge_payment"
    order_id: UUID
    customer_id: UUID
    amount: Decimal

    @classmethod
    def for_order(cls, order: _OrderToPay) -> ChargePayment:
        return cls(order.order_id, order.customer_id, order.total)


@dataclass(frozen=True)
class RefundPayment(Command):
    """Give back what the order was charged, if it was charged."""

    TASK: ClassVar[str] = "payments.refund_payment"
    order_id: UUID

    @classmethod
    def for_order(cls, order: _Order) -> RefundPayment:
        return cls(order.order_id)
