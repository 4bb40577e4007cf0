"""Mutations, one module per entity; the root Mutation merges them in api/schema.py."""
