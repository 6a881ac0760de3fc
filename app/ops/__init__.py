"""Ops: the failed-redemption list, safe replay, cancel, and the audit log."""
