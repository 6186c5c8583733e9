"""Thin REST routes, one module per resource: translate HTTP to upstream calls and back."""
