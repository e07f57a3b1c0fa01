"""Names of the events the payments context appends to the event log."""

AGGREGATE = "customer"
PAYMENT_AGGREGATE = "order"

CUSTOMER_REGISTERED = "CustomerRegistered"
PAYMENT_CHARGED = "PaymentCharged"
PAYMENT_DECLINED = "PaymentDeclined"
PAYMENT_REFUNDED = "PaymentRefunded"
