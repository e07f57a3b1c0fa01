"""Read models: denormalised tables kept by projectors, stored in the read database only."""

from django.db import models


class ProjectorCheckpoint(models.Model):
    """How far a projector has read the event log; written in the transaction of its rows."""

    projector = models.CharField(max_length=100, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    last_error = models.TextField(blank=True)
    last_error_position = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.projector} @ {self.position}"


class ProductAvailability(models.Model):
    """What `GET /api/products/` answers: a product's price and stock as the event log tells it."""

    sku = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    available = models.IntegerField(default=0)
    last_position = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["sku"]
        verbose_name_plural = "product availability"

    def __str__(self) -> str:
        return self.sku
