"""Webhook signatures (the one implementation lives in core/signatures.py): what a receiver
checks, re-exported for the use-cases and the README's example."""

from __future__ import annotations

from ..core.signatures import HEADER, TOLERANCE_SECONDS, sign, verify

__all__ = ["HEADER", "TOLERANCE_SECONDS", "sign", "verify"]
