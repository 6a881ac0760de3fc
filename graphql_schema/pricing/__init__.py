"""Quotes in GraphQL: a reward's price in the viewer's points, locked for a while."""
