"""Background work: schema sync, claimed through the store, run by APScheduler."""
