"""Background work claimed through the store: schema sync (with diffs and history), health
checks, pruning; the scheduler that runs them and a jobs-only worker process."""
