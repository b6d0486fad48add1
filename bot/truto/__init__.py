"""The unified ticketing API: its client (auth, retries, idempotency), its error envelope, the
per-account and per-token rate budgets, what each connected tool accepts (discovery), and the
webhook deliveries it sends."""
