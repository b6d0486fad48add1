"""ticketbot: update tickets in any tracker from Slack through the unified ticketing API."""

__version__ = "0.1.0"
