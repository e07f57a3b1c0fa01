"""Names of the events the orders context appends to the event log."""

AGGREGATE = "order"

ORDER_PLACED = "OrderPlaced"
ORDER_CONFIRMED = "OrderConfirmed"
ORDER_REJECTED = "OrderRejected"
ORDER_CANCELLATION_REQUESTED = "OrderCancellationRequested"
ORDER_CANCELLED = "OrderCancelled"
ORDER_SHIPPED = "OrderShipped"
