"""Thin DRF views of the workflow API: parse, call a service, serialize (docs/api.md)."""
