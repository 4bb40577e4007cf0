"""GraphQL types, one module per entity; each is built from its model by one function."""
