"""The reward catalog in GraphQL: rewards, options, global ids, vendor health."""
