"""Huitou (回头): a customer-service desk for e-commerce after-sales and buyer follow-up."""

__version__ = "0.1.0"
