"""After-sales cases (售后): return/refund, exchange, refund only, resend, price adjustment."""
