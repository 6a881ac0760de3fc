"""Redemption: the saga state machine, its runner under a lease, crash recovery and the
reconciler that vendor webhooks wake. Arrives with the redemption issue."""
