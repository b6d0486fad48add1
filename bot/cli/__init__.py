"""The command line: `ticketbot` and its subcommands, `check`, the demo, text output."""
