"""Pricing: FX rate providers, ISO 4217 minor units, conversion to points and locked quotes.
Arrives with the points issue."""
