"""The connection failure shape and its common cases, kept importable from here.

They live in the neutral core (webapp/core/refusal.py, webapp/core/failures.py) so that
dialects build them without importing connect/; this module only re-exports them.
"""

from __future__ import annotations

from ..core.failures import (
    BAD_CREDENTIALS,
    HOST_NOT_FOUND,
    INCORRECT_PORT,
    NO_DATABASE,
    bad_credentials,
    port_refused,
    redact,
    secret_texts,
    timeout_failure,
    unknown_database,
)
from ..core.refusal import ConnectionFailed

__all__ = [
    "BAD_CREDENTIALS",
    "HOST_NOT_FOUND",
    "INCORRECT_PORT",
    "NO_DATABASE",
    "ConnectionFailed",
    "bad_credentials",
    "port_refused",
    "redact",
    "secret_texts",
    "timeout_failure",
    "unknown_database",
]
