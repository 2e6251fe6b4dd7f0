"""Google Cloud service-account keys (BigQuery, Spanner): checked offline, turned into
credentials whose token requests have a deadline, and Google's errors mapped to fields."""

from __future__ import annotations

import json
import re
from typing import Any

from ..safe_parse import InputRefused, load_json
from .errors_table import ErrorRule, Failure, vendor_timeout
from .fields import FieldInvalid, FieldSpec

KEY_FIELD = "bigQueryJsonKey"
PROJECT_FIELD = "bigQueryProjectId"
# A key's token_uri receives a signed assertion: only Google's token endpoints are accepted.
TOKEN_URIS = {
    "https://oauth2.googleapis.com/token",
    "https://accounts.google.com/o/oauth2/token",
    "https://www.googleapis.com/oauth2/v4/token",
}
NEEDED_KEYS = ("project_id", "private_key", "client_email")
PROJECT_ID = re.compile(r"^([a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
SERVICE_EMAIL = re.compile(r"^[^@\s]+@[a-z0-9.-]+\.gserviceaccount\.com$")


def check_project_id(value: str) -> None:
    """6–30 lowercase letters, digits and dashes (optionally domain-scoped: example.com:p)."""
    if not PROJECT_ID.match(value):
        raise FieldInvalid(
            "A project ID is 6–30 lowercase letters, digits and dashes, "
            "starting with a letter (e.g. my-project-123)"
        )


def key_fields(product: str) -> tuple[FieldSpec, FieldSpec]:
    """The JSON key and the optional project ID, with the Basedash API's names."""
    return (
        FieldSpec(
            name=KEY_FIELD,
            label="Service account JSON key",
            kind="textarea",
            secret=True,
            required=True,
            max_length=16384,
            placeholder='{"type": "service_account", "project_id": …}',
            help=f"Paste the whole JSON key file of a service account that can use "
            f"{product} (IAM → Service accounts → Keys → Add key → JSON).",
            docs="https://cloud.google.com/iam/docs/keys-create-delete",
        ),
        FieldSpec(
            name=PROJECT_FIELD,
            label="Project ID",
            max_length=93,
            checks=(check_project_id,),
            placeholder="my-project-123",
            help="Leave blank to use the key's own project.",
        ),
    )


def parse_service_account(text: str | None) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The key as a dict, or errors on bigQueryJsonKey saying what is wrong with it."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    def bad(message: str) -> tuple[None, dict[str, str]]:
        return None, {KEY_FIELD: message}

    try:
        info = load_json(text or "")  # nesting-limited: a pasted value may be anything
    except InputRefused:
        return bad("This is not a service account key file (nested too deeply)")
    except ValueError:
        return bad("This is not JSON: paste the whole key file, from { to }")
    if not isinstance(info, dict):
        return bad("This is not a service account key file")
    if info.get("type") == "authorized_user":
        return bad("This is a user credential: create a key for a service account instead")
    if info.get("type") != "service_account":
        return bad('This is not a service account key ("type" must be "service_account")')
    missing = [k for k in NEEDED_KEYS if not isinstance(info.get(k), str) or not info.get(k)]
    if missing:
        return bad(f"The key file lacks {', '.join(missing)}: download it again")
    if not SERVICE_EMAIL.match(info["client_email"]):
        return bad("client_email is not a service account address")
    if info.get("token_uri", "https://oauth2.googleapis.com/token") not in TOKEN_URIS:
        return bad(
            "token_uri must be Google's token endpoint (https://oauth2.googleapis.com/token)"
        )
    try:
        key = load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        return bad("private_key is not a readable PEM key: download the key file again")
    if not isinstance(key, RSAPrivateKey):
        return bad("private_key must be an RSA key")
    try:
        check_project_id(info["project_id"])
    except FieldInvalid:
        return bad("project_id in the key file is not a valid project ID")
    return info, {}


def project_of(values: dict[str, Any]) -> str:
    """The project to use: the field if given, else the key's own project."""
    if values.get(PROJECT_FIELD):
        return values[PROJECT_FIELD]
    info, _ = parse_service_account(values.get(KEY_FIELD))
    return (info or {}).get("project_id", "")


def credentials(values: dict[str, Any], timeout: float, scopes: list[str]) -> Any:
    """Service-account credentials, refreshed now with a deadline (the "auth" step)."""
    import google.auth.transport.requests
    from google.oauth2 import service_account

    class BoundedRequest(google.auth.transport.requests.Request):
        """google-auth's transport with our deadline instead of its 120 s default."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = timeout
            return super().__call__(*args, **kwargs)

    info = json.loads(values[KEY_FIELD])
    creds = service_account.Credentials.from_service_account_info(info, scopes=scopes)
    creds.refresh(BoundedRequest())
    return creds


def google_rules(service: str, *product: ErrorRule) -> tuple[ErrorRule, ...]:
    """The error table of google-auth and google-api-core errors, shared by BigQuery and
    Spanner; the `product` rules (their own messages) come before the generic ones."""
    key_rejected = "Google rejected this key (deleted, disabled or revoked)"
    account_gone = "The service account of this key no longer exists"
    return (
        ErrorRule(
            Failure("auth", f"{account_gone}. Create a new JSON key.", {KEY_FIELD: account_gone}),
            chain=("RefreshError",),
            also=("invalid_grant", "(?i)account not found"),
        ),
        ErrorRule(
            Failure("auth", f"{key_rejected}. Create a new JSON key.", {KEY_FIELD: key_rejected}),
            chain=("RefreshError",),
        ),
        ErrorRule(
            vendor_timeout(service, KEY_FIELD),
            chain=(
                "DeadlineExceeded",
                "Timeout",
                "ReadTimeout",
                "ConnectTimeout",
                "TimeoutError",
                "RetryError",
            ),
        ),
        ErrorRule(
            Failure(
                "auth",
                f"Datadock's server could not reach {service} (Google's APIs "
                "over HTTPS). Check its internet access, proxy or firewall.",
            ),
            chain=("TransportError", "ConnectionError"),
        ),
        *product,
        ErrorRule(
            Failure(
                "database",
                f"The {service} API is not enabled in this project. "
                "Enable it in the Google Cloud console (APIs & Services).",
                {PROJECT_FIELD: f"{service} API not enabled in this project"},
            ),
            text="has not been used in project|is disabled",
        ),
        ErrorRule(
            Failure(
                "auth",
                "Google did not accept this key's credentials.",
                {KEY_FIELD: "Google rejected this key"},
            ),
            chain=("Unauthenticated", "Unauthorized"),
        ),
        ErrorRule(
            Failure(
                "database",
                "This service account lacks permission in this project. "
                f"Grant it the roles {service} needs (see the field help).",
                {KEY_FIELD: "This service account lacks permission"},
            ),
            chain=("Forbidden", "PermissionDenied"),
        ),
    )


def product_rule(pattern: str, step: str, field_name: str, message: str) -> ErrorRule:
    """A product's own case: `pattern` (case-insensitive) in Google's message means `message`
    on `field_name`."""
    return ErrorRule(Failure(step, f"{message}.", {field_name: message}), text=f"(?i){pattern}")
