"""Measured quality and speed through the product's own path: `kb eval` and `kb bench`."""
