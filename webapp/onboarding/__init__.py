"""Onboarding links (use-cases): create a single-use, expiring link for one dialect, open it,
verify and complete it (through the same source use-cases as every face), revoke it.
The Supermetrics face (api/supermetrics.py) and the pages (web/connect_pages.py) call these."""

from __future__ import annotations

from .links import (
    CONNECT_PATH,
    SOURCE_CONNECTED,
    LinkUnusable,
    NewLink,
    base_url,
    clean_holder,
    complete,
    create_link,
    for_token,
    get_link,
    list_links,
    revoke,
    source_of,
    status,
    verify,
)

__all__ = [
    "CONNECT_PATH",
    "SOURCE_CONNECTED",
    "LinkUnusable",
    "NewLink",
    "base_url",
    "clean_holder",
    "complete",
    "create_link",
    "for_token",
    "get_link",
    "list_links",
    "revoke",
    "source_of",
    "status",
    "verify",
]
