"""The events the payments context appends to the event log, one frozen record per type.

Payment events carry the customer's credit left after them, so a projection sets, never adds.
Readers may import this module and nothing else of payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from eventlog.contracts import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CustomerRegistered(DomainEvent):
    TYPE: ClassVar[str] = "CustomerRegistered"
    AGGREGATE: ClassVar[str] = "customer"
    customer_id: UUID
    user_id: int
    username: str
    name: str
    email: str
    credit_limit: Decimal


# A payment is what one order took from a customer's credit (``Charge.order_id`` is unique), so
# it is known by that order's id, a declined one that left no row included.
@dataclass(frozen=True, kw_only=True)
class PaymentEvent(DomainEvent):
    AGGREGATE: ClassVar[str] = "payment"
    order_id: UUID
    customer_id: UUID
    amount: Decimal
    credit_available: Decimal


@dataclass(frozen=True, kw_only=True)
class PaymentCharged(PaymentEvent):
    TYPE: ClassVar[str] = "PaymentCharged"


@dataclass(frozen=True, kw_only=True)
class PaymentDeclined(PaymentEvent):
    TYPE: ClassVar[str] = "PaymentDeclined"


@dataclass(frozen=True, kw_only=True)
class PaymentRefunded(PaymentEvent):
    TYPE: ClassVar[str] = "PaymentRefunded"
