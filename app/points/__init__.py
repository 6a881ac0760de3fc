"""Points: programs, members and the two-phase double-entry ledger (accounts, journal, holds,
lots, expiry). Arrives with the points issue."""
