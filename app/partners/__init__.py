"""Partners (tenants): API keys, member tokens and outbound webhooks."""
