"""Catalog: products with list price, floor price and care tips."""
