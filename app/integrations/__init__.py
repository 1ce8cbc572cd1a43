"""Integrations: stores, inbound webhooks (Shopify, WooCommerce, Standard Webhooks), outbound webhooks."""
