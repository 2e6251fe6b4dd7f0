"""Use-cases shared by every face (pages, API, CLI, provisioning, demo): the only way delivery
code reads or changes sources.

    inputs.py          clean a form or JSON body against the dialect's declaration
    verification.py    verify: the ladder in a verify slot, audited
    commands.py        create, update, delete, request a sync or a health check: one
                       transaction each, its audit event inside it
    queries.py         lists, pages, one source, schema, sync history, health
    webhook_tokens.py  the per-source webhook: create, revoke, call
    operations.py      pause, resume, test the saved configuration, preview a schedule

Every refusal is a `webapp.core.refusal.Refusal` (ValidationFailed, DuplicateName,
ConnectionFailed, VerifyBusy, WebhookRefused, WebhookThrottled): callers catch that one type.
"""

from __future__ import annotations

from ..core.refusal import (
    ConnectionFailed,
    DuplicateName,
    Refusal,
    ValidationFailed,
    VerifyBusy,
    WebhookRefused,
    WebhookThrottled,
)
from ..records import public_values
from .commands import (
    create_source,
    delete_source,
    request_health_check,
    request_sync,
    update_source,
)
from .inputs import SourceInput, clean_input, expand_connection_string, saved_secret_names
from .operations import (
    pause_source,
    resume_source,
    schedule_preview,
    upcoming_syncs,
    verify_saved,
)
from .queries import (
    MAX_LISTED,
    Bucket,
    Uptime,
    get_organization,
    get_source,
    get_source_by_name,
    health_history,
    health_uptime,
    list_sources,
    list_sources_page,
    snapshot_tables,
    sync_history,
    sync_progress,
    utcnow,
)
from .verification import verify_input
from .webhook_tokens import WEBHOOK_RATE, create_webhook_token, revoke_webhook_token, webhook_sync

# The name refusals had here before webapp/core/: kept for callers written against it.
SourceError = Refusal

__all__ = [
    "MAX_LISTED",
    "WEBHOOK_RATE",
    "Bucket",
    "ConnectionFailed",
    "DuplicateName",
    "Refusal",
    "SourceError",
    "SourceInput",
    "Uptime",
    "ValidationFailed",
    "VerifyBusy",
    "WebhookRefused",
    "WebhookThrottled",
    "clean_input",
    "create_source",
    "create_webhook_token",
    "delete_source",
    "expand_connection_string",
    "get_organization",
    "get_source",
    "get_source_by_name",
    "health_history",
    "health_uptime",
    "list_sources",
    "list_sources_page",
    "pause_source",
    "public_values",
    "request_health_check",
    "request_sync",
    "resume_source",
    "revoke_webhook_token",
    "saved_secret_names",
    "schedule_preview",
    "snapshot_tables",
    "sync_history",
    "sync_progress",
    "upcoming_syncs",
    "update_source",
    "utcnow",
    "verify_input",
    "verify_saved",
    "webhook_sync",
]
