"""Names of the events the shipping context appends to the event log."""

AGGREGATE = "order"

SHIPMENT_SCHEDULED = "ShipmentScheduled"
SHIPMENT_FAILED = "ShipmentFailed"
SHIPMENT_CANCELLED = "ShipmentCancelled"
SHIPMENT_DISPATCHED = "ShipmentDispatched"
