"""Redis: the cache, keys, the client, quotas, batches, the card registry and the job queue."""
