"""Names of the events the inventory context appends to the event log."""

AGGREGATE = "product"
RESERVATION_AGGREGATE = "order"

PRODUCT_ADDED = "ProductAdded"
STOCK_RESTOCKED = "StockRestocked"
STOCK_RESERVED = "StockReserved"
STOCK_RESERVATION_FAILED = "StockReservationFailed"
STOCK_RELEASED = "StockReleased"
STOCK_SHIPPED = "StockShipped"
