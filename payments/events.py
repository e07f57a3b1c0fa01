"""Names of the events the payments context appends to the event log."""

AGGREGATE = "customer"

CUSTOMER_REGISTERED = "CustomerRegistered"
