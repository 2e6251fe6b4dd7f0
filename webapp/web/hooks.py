"""The per-source webhook an ETL job calls to trigger a schema sync.

`POST /hooks/sources/<id>/sync` with the token in the `X-Datadock-Token` header, or
`POST /hooks/sources/<id>/sync/<token>` for tools that can only call a URL. Token-authenticated,
so CSRF-exempt; no cookie is read or set. JSON answers in the project's error shape. Request
lines that carry a token are redacted in the dev server's and gunicorn's access logs.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import jsonify, request

from .. import sources as uc
from ..extensions import csrf
from . import bp

HEADER_NAME = "X-Datadock-Token"
_TOKEN_IN_PATH = re.compile(r"(/hooks/sources/\d+/sync/)[^\s?\"']+")


class RedactHookTokens(logging.Filter):
    """Replace a webhook token in a logged request line with [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/hooks/sources/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub(r"\1[redacted]", message), ()
        return True


for _name in ("werkzeug", "gunicorn.access"):
    logging.getLogger(_name).addFilter(RedactHookTokens())


@bp.route("/hooks/sources/<int:source_id>/sync", methods=["POST"])
@bp.route("/hooks/sources/<int:source_id>/sync/<token>", methods=["POST"])
@csrf.exempt
def webhook_sync(source_id: int, token: str | None = None) -> Any:
    """Queue a sync; 202 with the queued run, 401 for a wrong token, 429 when called too often."""
    try:
        source, run = uc.webhook_sync(source_id, token or request.headers.get(HEADER_NAME))
    except uc.Refusal as exc:  # WebhookRefused, WebhookThrottled: the one error shape
        return jsonify(exc.body()), exc.status, exc.headers()
    response = jsonify(
        data={
            "sourceId": source.id,
            "syncRunId": run.id,
            "status": run.status,
            "lastSyncStatus": source.last_sync_status,
        }
    )
    response.status_code = 202
    return response
