"""Members, balances, history and earning in GraphQL."""
