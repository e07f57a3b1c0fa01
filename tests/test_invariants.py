"""The invariants oracle passes on a healthy shop and catches a broken participant."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F

from eventlog.services import event_append
from inventory.events import StockReleased
from inventory.models import Product, StockMovement, StockReservation

from .readside import add_product, confirmed_order, register

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "read"])


def check_invariants() -> tuple[bool, str]:
    output = StringIO()
    try:
        call_command("check_invariants", stdout=output)
    except CommandError:
        return False, output.getvalue()
    return True, output.getvalue()


def sloppy_release(order, attempt: int) -> None:
    """A release that forgets to ask whether it already released: what a participant without
    its receipt check would do when the same command is delivered twice."""
    reservation = StockReservation.objects.get(order_id=order.pk)
    with transaction.atomic():
        for line in reservation.lines.select_related("product"):
            Product.objects.filter(pk=line.product_id).update(reserved=F("reserved") - line.quantity)
            StockMovement.objects.create(
                product=line.product,
                kind="RELEASED",
                quantity=line.quantity,
                saga_id=order.saga_id,
                step=f"release-{attempt}",
            )
        StockReservation.objects.filter(pk=reservation.pk).update(status="RELEASED")
        event_append(
            StockReleased(order_id=order.pk, lines=()), aggregate_id=order.pk, correlation_id=order.pk
        )


def test_a_healthy_shop_passes_every_check():
    add_product("KB", stock=10)
    confirmed_order(register("alice"), "KB", 2)

    ok, output = check_invariants()

    assert ok, output
    assert "[FAIL]" not in output
    assert "stock: reserved = units of held reservations" in output


def test_a_participant_that_is_not_idempotent_is_caught():
    add_product("KB", stock=10)
    alice = register("alice")
    first = confirmed_order(alice, "KB", 2)
    confirmed_order(alice, "KB", 3)

    sloppy_release(first, attempt=1)
    sloppy_release(first, attempt=2)

    ok, output = check_invariants()
    assert not ok
    assert (
        "[FAIL] stock: reserved = units of held reservations: KB: reserved 1, reservations hold 3" in output
    )
    assert "StockReleased x2" in output
