"""Use cases: plan an update and apply it, show a ticket, resolve names, read lookups, audit."""
