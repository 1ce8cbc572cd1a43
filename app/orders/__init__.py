"""Orders: line items, shipments, the order lifecycle state machine and its timeline."""
