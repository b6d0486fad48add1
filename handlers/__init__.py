"""The Slack adapter, in rooms by when its code runs: `app` and `distributed` compose it;
`ingress/` answers HTTP endpoints without Bolt; `listeners/` is what Bolt calls; `jobs/` is what
the worker runs; `kit/` is shared and knows nothing of Bolt (import-linter keeps that order)."""
