from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# Every order's total is charged, and a charge must be positive: a product that costs nothing
# would make every order for it fail at the payment step.
MIN_PRICE = Decimal("0.01")


class Product(models.Model):
    """A sellable item and its stock. ``reserved`` counts units held for confirmed orders that
    have not left the warehouse; they are still ``on_hand``."""

    sku = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(SKU_PATTERN, "Use letters, digits, '.', '_' or '-'.")],
    )
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(MIN_PRICE)])
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="product_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="product_reserved_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="product_reserved_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.name})"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockReservation(models.Model):
    """Units held for one order: reserved by its saga, then released or shipped."""

    class Status(models.TextChoices):
        RESERVED = "RESERVED"
        RELEASED = "RELEASED"
        SHIPPED = "SHIPPED"

    order_id = models.UUIDField(unique=True)
    saga_id = models.UUIDField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RESERVED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"reservation for order {self.order_id} ({self.status})"


class StockReservationLine(models.Model):
    reservation = models.ForeignKey(StockReservation, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reservation_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_line_quantity_positive"),
            models.UniqueConstraint(
                fields=["reservation", "product"], name="reservation_line_one_per_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.sku}"


class StockMovement(models.Model):
    """The stock ledger: every change of ``on_hand`` or ``reserved`` with its cause.

    A unique ``(saga_id, step, sku)`` makes a redelivered saga command a no-op instead of a
    second movement.
    """

    class Kind(models.TextChoices):
        RECEIVED = "RECEIVED", "Received (new product)"
        RESTOCKED = "RESTOCKED", "Restocked"
        RESERVED = "RESERVED", "Reserved"
        RELEASED = "RELEASED", "Released"
        SHIPPED = "SHIPPED", "Shipped"

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    quantity = models.PositiveIntegerField()
    saga_id = models.UUIDField(null=True, blank=True)
    step = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="stock_movement_quantity_positive"),
            models.UniqueConstraint(
                fields=["saga_id", "step", "product"],
                condition=Q(saga_id__isnull=False),
                name="stock_movement_once_per_saga_step",
            ),
        ]
        indexes = [models.Index(fields=["product", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} x {self.product.sku}"
