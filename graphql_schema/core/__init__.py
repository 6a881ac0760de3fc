"""What every domain of the GraphQL layer shares: errors, permissions, money, pagination."""
