"""The pure core: the grammar, ticket and field types, name matching, errors, permissions. No I/O:
nothing here imports the store, the Slack edge, the API client, operations or handlers."""
