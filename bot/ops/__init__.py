"""Running the bot: configuration, logs, redaction, metrics, patience, worker processes."""
