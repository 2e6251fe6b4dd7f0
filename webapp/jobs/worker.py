"""A process that runs only the background jobs: `python -m webapp.jobs.worker`.

For deployments that serve pages from processes with DATADOCK_SCHEDULER=off and run the jobs
here (any number of these may share one PostgreSQL store: jobs are claimed with leases).
It stops on SIGTERM or SIGINT; jobs it had claimed but not finished are taken over by another
process once their lease expires.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

log = logging.getLogger("webapp.jobs.worker")


def main() -> int:
    """Start the app's scheduler and wait for a signal."""
    from .. import cli, create_app
    from ..config import ConfigError
    from ..vault import VaultError

    try:
        app = create_app()
    except (ConfigError, VaultError) as exc:
        print(cli.start_failure(exc), file=sys.stderr, flush=True)
        return 2
    runner = app.extensions.get("datadock_runner")
    if runner is None:
        log.error("the scheduler is off (DATADOCK_SCHEDULER): this worker has nothing to run")
        return 2
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    log.info("worker running; stop it with SIGTERM")
    stopped.wait()
    runner.stop()
    log.info("worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
