"""Verify: clean the input, walk the verify ladder in a verify slot, audit the outcome."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import current_app

from .. import audit
from ..connect import verify_pool
from ..connect.verify import VerifyResult, verify
from ..core.refusal import ConnectionFailed
from ..models import Organization, Source
from .inputs import SourceInput, clean_input


def verify_input(
    raw: Mapping[str, Any],
    existing: Source | None = None,
    org: Organization | None = None,
    *,
    name_required: bool = True,
) -> VerifyResult:
    """Validate, then walk the verify ladder. Stores nothing but its audit event.

    Raises ValidationFailed, VerifyBusy (no verify slot free: nothing tried, nothing audited)
    or ConnectionFailed (with the ladder's steps). The audit event and the verify slot belong
    to `org`, else the existing source's organization, else the requester's.
    """
    started = time.monotonic()
    data = clean_input(raw, existing, name_required=name_required)
    fields_ms = int((time.monotonic() - started) * 1000)
    try:
        result = verify_in_slot(_verify_org_id(org, existing), data, fields_ms)
    except ConnectionFailed as failure:
        _audit_verify(
            org,
            existing,
            data,
            {"result": "failure", "step": failure.step, "fields": sorted(failure.field_errors)},
        )
        raise
    _audit_verify(org, existing, data, {"result": "success"})
    return result


def verify_in_slot(org_id: int | None, data: SourceInput, fields_ms: int = 0) -> VerifyResult:
    """Walk the ladder in one of the process's verify slots (connect/verify_pool.py): a verify
    and the verify a save makes share them. Raises VerifyBusy when none is free."""
    timeout = current_app.config["VERIFY_TIMEOUT"]
    return verify_pool.run(
        org_id, timeout, lambda: verify(data.dialect, data.values, timeout, fields_ms)
    )


def _verify_org_id(org: Organization | None, existing: Source | None) -> int | None:
    return (
        org.id
        if org is not None
        else existing.organization_id
        if existing is not None
        else audit.request_organization_id()
    )


def _audit_verify(
    org: Organization | None, existing: Source | None, data: SourceInput, details: dict[str, Any]
) -> None:
    """The verify's one transaction: its audit event (a verify stores nothing else), written
    in the background so the answer does not wait for its commit (audit.record_in_background;
    a verify writes no source, so nothing else belongs in that transaction)."""
    org_id = _verify_org_id(org, existing)
    if org_id is None:
        return
    audit.record_in_background(
        org_id,
        "source.verified",
        target_type="source",
        target_id=existing.id if existing is not None else None,
        target_name=data.display_name,
        details={**details, "dialect": data.dialect.key},
    )
