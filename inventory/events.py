"""Names of the events the inventory context appends to the event log."""

AGGREGATE = "product"

PRODUCT_ADDED = "ProductAdded"
STOCK_RESTOCKED = "StockRestocked"
