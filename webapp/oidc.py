"""The OpenID Connect client (Authlib): discovery, the authorization code flow with PKCE, and
the ID token check (signature against the provider's keys, issuer, audience, expiry, nonce).

The issuer is the operator's (DATADOCK_OIDC_ISSUER), so it is not put through the egress
policy that guards user-supplied addresses, but every request to it (discovery, keys, token)
has a timeout. Discovery is read on the first sign-in and kept for the life of the process;
the keys are fetched again when a token names a key id they lack.

A sign-in's state data (nonce, PKCE verifier, redirect URI) is kept in the store, not in the
session cookie: the callback takes it exactly once (one DELETE), so a replayed callback — even
with a copy of the old cookie — finds nothing. The session only binds the state to the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import current_app
from joserfc.errors import ClaimError, JoseError
from sqlalchemy import delete, select
from werkzeug.wrappers import Response

from .extensions import db, rows_changed
from .models import SsoState, utcnow

NAME = "datadock_oidc"
TIMEOUT = 10.0  # seconds, for every request to the provider
SCOPE = "openid email profile"
STATE_LIFETIME = 600  # seconds between pressing the button and coming back


class OidcFailed(Exception):
    """The sign-in cannot be trusted or did not complete; `reason` is a short code for the
    audit log, the message is safe to show (never a secret, never the provider's own text)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Verified:
    """What the provider vouched for: its issuer and the ID token's claims."""

    issuer: str
    claims: dict[str, Any]


class StoreCache:
    """Authlib's state cache over the `sso_states` table; `get` takes the entry (reads and
    deletes it in one step), so each state is usable once, whatever cookie comes back."""

    def get(self, key: str) -> str | None:
        row = db.session.scalar(select(SsoState).where(SsoState.key == key))
        if row is None:
            return None
        value, expired = row.value, row.expires_at <= utcnow()
        taken = rows_changed(db.session.execute(delete(SsoState).where(SsoState.key == key)))
        db.session.commit()
        return value if taken == 1 and not expired else None

    def set(self, key: str, value: str, expires_in: int) -> None:
        now = utcnow()
        db.session.execute(delete(SsoState).where(SsoState.expires_at <= now))
        db.session.merge(
            SsoState(key=key, value=value, expires_at=now + timedelta(seconds=expires_in))
        )
        db.session.commit()

    def delete(self, key: str) -> None:
        db.session.execute(delete(SsoState).where(SsoState.key == key))
        db.session.commit()


def configured() -> bool:
    """Whether issuer, client id and client secret are all set."""
    config = current_app.config
    return bool(
        config.get("OIDC_ISSUER")
        and config.get("OIDC_CLIENT_ID")
        and config.get("OIDC_CLIENT_SECRET")
    )


def provider_name() -> str:
    """The provider's name for buttons and messages."""
    return current_app.config.get("OIDC_PROVIDER_NAME") or "SSO"


def provider_origins() -> list[str]:
    """The issuer's origin, and the authorization endpoint's once discovery has been read
    (for the pages' CSP form-action)."""
    urls = [current_app.config["OIDC_ISSUER"]]
    cached = current_app.extensions.get(NAME)
    if cached is not None:
        urls.append(str(cached[1].server_metadata.get("authorization_endpoint") or ""))
    origins = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if (
            parts.scheme in ("http", "https")
            and parts.netloc
            and origin not in origins
            and not set(origin) & set(" ;,'\"")
        ):
            origins.append(origin)
    return origins


def _client() -> FlaskOAuth2App:
    """This app's client, made on first use (discovery is read lazily and then kept)."""
    config = current_app.config
    identity = (config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"])
    cached = current_app.extensions.get(NAME)
    if cached is not None and cached[0] == identity:
        return cached[1]
    framework = FlaskIntegration(NAME, StoreCache())
    framework.expires_in = STATE_LIFETIME
    client = FlaskOAuth2App(
        framework,
        NAME,
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config["OIDC_CLIENT_SECRET"],
        server_metadata_url=config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": TIMEOUT},
    )
    current_app.extensions[NAME] = (identity, client)
    return client


def _metadata(client: FlaskOAuth2App) -> dict[str, Any]:
    """The discovery document, checked: it must name the configured issuer (OIDC Discovery
    §4.3) and the endpoints the flow needs."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable(exc) from None
    issuer = str(metadata.get("issuer", "")).rstrip("/")
    if issuer != current_app.config["OIDC_ISSUER"].rstrip("/"):
        client.server_metadata.clear()  # read it again next time
        raise OidcFailed(
            "discovery",
            f"{provider_name()}'s discovery document names another "
            "issuer. Ask your administrator to check "
            "DATADOCK_OIDC_ISSUER.",
        )
    if not all(metadata.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
        raise OidcFailed(
            "discovery",
            f"{provider_name()}'s discovery document lacks an endpoint single sign-on needs.",
        )
    client.client_kwargs["token_endpoint_auth_method"] = auth_method(metadata)
    return metadata


def auth_method(metadata: dict[str, Any]) -> str:
    """How the client secret goes to the token endpoint: HTTP Basic (the spec's default),
    unless the provider lists client_secret_post and not Basic."""
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" not in methods and "client_secret_post" in methods:
        return "client_secret_post"
    return "client_secret_basic"


def _unreachable(exc: Exception) -> OidcFailed:
    current_app.logger.warning("OIDC provider request failed: %s", type(exc).__name__)
    return OidcFailed("unreachable", f"{provider_name()} did not answer. Try again in a moment.")


def begin(redirect_uri: str) -> Response:
    """The redirect to the provider's authorization endpoint (state, nonce, PKCE S256)."""
    client = _client()
    _metadata(client)
    return client.authorize_redirect(redirect_uri)


def finish() -> Verified:
    """Complete the sign-in the provider sent back to the callback: take the state (once),
    exchange the code with the PKCE verifier, verify the ID token. OidcFailed says why not."""
    client = _client()
    metadata = _metadata(client)
    # Authlib checks `aud` only through `azp` unless told: name both the audience (this
    # client) and the issuer (the discovery document's) as required values.
    options = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": client.client_id},
    }
    try:
        token = client.authorize_access_token(claims_options=options)
    except MismatchingStateError:
        raise OidcFailed(
            "state",
            "This sign-in was already used, has expired or did not start here. Start again.",
        ) from None
    except OAuthError as exc:
        if exc.error == "access_denied":
            raise OidcFailed("denied", f"The sign-in was cancelled at {provider_name()}.") from None
        raise OidcFailed(
            "provider",
            f"{provider_name()} did not accept the sign-in ({_code(exc.error)}). Start again.",
        ) from None
    except ClaimError as exc:
        raise _claim_failure(exc.claim) from None
    except JoseError as exc:
        raise OidcFailed(
            "id_token", f"The ID token's signature could not be verified ({_code(exc.error)})."
        ) from None
    except (requests.RequestException, ValueError) as exc:
        raise _unreachable(exc) from None
    claims = token.get("userinfo")
    if not claims:  # no ID token: nothing was verified
        raise OidcFailed("id_token", f"{provider_name()} sent no ID token.")
    return Verified(str(metadata["issuer"]).rstrip("/"), dict(claims))


def _code(error: Any) -> str:
    text = str(error or "error")
    return text if text.replace("_", "").isalnum() and len(text) <= 40 else "error"


def _claim_failure(claim: str) -> OidcFailed:
    messages = {
        "aud": "The ID token was issued for another application (wrong audience).",
        "azp": "The ID token was issued for another application (wrong audience).",
        "nonce": "The ID token does not belong to this sign-in (nonce mismatch). Start again.",
        "iss": "The ID token comes from another issuer.",
        "exp": "The ID token has expired. Start again.",
    }
    message = messages.get(claim, f"The ID token's {_code(claim)} claim is not valid.")
    return OidcFailed(f"id_token.{_code(claim)}", message)
