"""Pricing: FX rate providers, ISO 4217 minor units, conversion to points and locked quotes.

Money is `Decimal` with an ISO code (`vendors.money.Money`); points are integers. A price in a
vendor's currency becomes points by one formula, rounded once, up, at the end
(`conversion.points_for`); a quote stores everything that formula used so a redemption never
re-prices silently.
"""
