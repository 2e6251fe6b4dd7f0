"""A dialect's error table: rules tried in order, each turning a driver error into a failure.

Like Superset's `custom_errors`, but a rule matches more than a message: the error's text (a
regex), its driver code, its class, or a class anywhere in its cause chain; then it may ask for
more text (`also`), for fields the user filled (`given`) or, rarely, a small predicate (`when`).
What a rule means is a `Failure` (step, banner detail, errors per field, as templates filled
from the target's non-secret values) or, for outcomes shared with the verify ladder, a function
of the facts. The shared outcomes and rule sets below keep one wording across dialects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..core.failures import (
    BAD_CREDENTIALS,
    HOST_NOT_FOUND,
    INCORRECT_PORT,
    NO_DATABASE,
    timeout_failure,
)
from ..core.refusal import ConnectionFailed
from .pinning import pin_refusal, unchecked_connection

Outcome = Callable[["Facts"], ConnectionFailed]


def chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every exception it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def chain_text(exc: BaseException) -> str:
    """All messages of the chain, for matching only (raw driver text is never shown)."""
    return " | ".join(f"{type(e).__name__}: {e}" for e in chain(exc))


class _Blank(dict):
    """Template values: a field the target does not have (or keeps secret) reads as None."""

    def __missing__(self, key: str) -> None:
        return None


@dataclass(frozen=True)
class Facts:
    """What a rule can look at: the error as its dialect reads it, and the target's values."""

    exc: BaseException
    text: str
    codes: tuple[Any, ...]
    chain: tuple[BaseException, ...]
    values: Mapping[str, Any]
    seconds: float
    label: str
    hidden: Collection[str] = ()

    @property
    def host(self) -> Any:
        """The host the user typed ("" when the dialect has none)."""
        return self.values.get("host", "")

    @property
    def port(self) -> Any:
        """The port the user typed, if any."""
        return self.values.get("port")

    def fill(self, template: str) -> str:
        """`template` with {host}, {port}, {seconds}, {label}, {code} and any non-secret field
        ({databaseName!r}, …) filled in."""
        values = _Blank({k: v for k, v in self.values.items() if k not in self.hidden})
        values.setdefault("host", "")
        values.update(
            seconds=self.seconds, label=self.label, code=self.codes[0] if self.codes else None
        )
        return template.format_map(values)


@dataclass(frozen=True)
class Failure:
    """A rule's meaning as data: the step, the banner's detail and errors per field (all
    templates, see Facts.fill)."""

    step: str
    detail: str
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __call__(self, facts: Facts) -> ConnectionFailed:
        return ConnectionFailed(
            self.step,
            facts.fill(self.detail),
            {facts.fill(k): facts.fill(v) for k, v in self.fields.items()},
        )


def _hits(kinds: tuple[type | str, ...], exc: BaseException) -> bool:
    return any(type(exc).__name__ == k if isinstance(k, str) else isinstance(exc, k) for k in kinds)


@dataclass(frozen=True)
class ErrorRule:
    """When a driver error means `then`.

    It matches when any of `text` (a regex searched in the error's text), `code` (one code or
    a collection), `types` (the error's own class: a class, or a class name for drivers
    imported lazily) or `chain` (a class anywhere in its cause chain) fits; a rule with none
    of them matches every error. Then `also` (a second regex), `given` (fields that must be
    filled in) and `when` (a predicate) must hold too; `also` may be several regexes, all
    needed.
    """

    then: Failure | Outcome
    text: str | None = None
    code: Any = None
    types: tuple[type | str, ...] = ()
    chain: tuple[type | str, ...] = ()
    also: str | tuple[str, ...] | None = None
    given: tuple[str, ...] = ()
    when: Callable[[Facts], bool] | None = None

    def _wanted_codes(self) -> frozenset:
        if self.code is None:
            return frozenset()
        if isinstance(self.code, str | bytes) or not isinstance(self.code, Iterable):
            return frozenset({self.code})
        return frozenset(self.code)

    def matches(self, facts: Facts) -> bool:
        """Whether this rule applies to the error `facts` describes."""
        wanted = self._wanted_codes()
        tests = []
        if self.text is not None:
            pattern = self.text
            tests.append(lambda: re.search(pattern, facts.text) is not None)
        if wanted:
            tests.append(lambda: any(_hashable(c) and c in wanted for c in facts.codes))
        if self.types:
            tests.append(lambda: _hits(self.types, facts.exc))
        if self.chain:
            tests.append(lambda: any(_hits(self.chain, e) for e in facts.chain))
        if tests and not any(test() for test in tests):
            return False
        also = (self.also,) if isinstance(self.also, str) else self.also or ()
        if any(re.search(pattern, facts.text) is None for pattern in also):
            return False
        if any(not facts.values.get(name) for name in self.given):
            return False
        return self.when is None or bool(self.when(facts))


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def first_failure(rules: Iterable[ErrorRule], facts: Facts) -> ConnectionFailed | None:
    """The failure of the first rule that matches, or None."""
    for rule in rules:
        if rule.matches(facts):
            return rule.then(facts)
    return None


# --- outcomes shared by many dialects (one wording; connect/errors.py has the ladder's own) ----


def timed_out(facts: Facts) -> ConnectionFailed:
    """The host accepted nothing or answered nothing within the deadline."""
    return timeout_failure(facts.host, facts.port, facts.seconds)


PORT_REFUSED = Failure(
    "tcp",
    "{host} refused the connection on port {port}: nothing listens there.",
    {"port": INCORRECT_PORT},
)
HOST_UNKNOWN = Failure("dns", "The host name {host} could not be found.", {"host": HOST_NOT_FOUND})
BAD_LOGIN = Failure(
    "auth",
    "The server rejected the username or password.",
    {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS},
)
NO_SUCH_DATABASE = Failure(
    "database", "The server has no database named {databaseName!r}.", {"databaseName": NO_DATABASE}
)
UNRECOGNISED = Failure(
    "connect",
    "{label} refused the connection with an error Datadock does "
    "not recognise. The server log has the details.",
)
SSL_UNSUPPORTED = Failure(
    "tls",
    "The server does not support SSL. Turn SSL off to connect without it.",
    {"sslEnabled": "The server does not support SSL"},
)
SSL_REQUIRED = Failure(
    "tls",
    "The server only accepts encrypted connections. Turn SSL on.",
    {"sslEnabled": "The server requires SSL"},
)
TLS_FAILED = Failure(
    "tls", "The TLS handshake with the server failed.", {"sslEnabled": "TLS handshake failed"}
)
WRONG_CERTIFICATE_NAME = Failure(
    "tls",
    "The server's certificate is not valid for the name {host}. Connect with the name on "
    "the certificate, or use SSL mode Verify CA.",
    {"sslMode": "Certificate does not match the host name"},
)
_UNTRUSTED = (
    "The server's certificate is not signed by a CA Datadock trusts. Paste the CA "
    "certificate under custom certificates, or use SSL mode Require."
)


def vendor_timeout(service: str, field_name: str) -> Failure:
    """A timeout talking to a vendor's API (no host of the user's to blame).

    The step is "auth" (the first thing the API call does), not "timeout", so the field is
    the one that names the service (account, key, region) rather than a host field.
    """
    return Failure(
        "auth",
        f"Timed out after {{seconds:g}} s waiting for {service} to answer. Check that "
        "Datadock's server can reach the internet over HTTPS (a proxy or firewall may block it), "
        "and allow Datadock's outbound address in the service's network policy if it has one.",
        {field_name: f"{service} did not answer within {{seconds:g}} s"},
    )


def untrusted_certificate(**match: Any) -> tuple[ErrorRule, ErrorRule]:
    """Rules for a certificate no trusted CA signed: the pasted CA certificate is at fault when
    there is one, else the SSL mode."""
    return (
        ErrorRule(
            Failure("tls", _UNTRUSTED, {"sslRootCertificate": "Certificate not trusted"}),
            given=("sslCustomCertificatesEnabled", "sslRootCertificate"),
            **match,
        ),
        ErrorRule(Failure("tls", _UNTRUSTED, {"sslMode": "Certificate not trusted"}), **match),
    )


def _pinned_elsewhere(facts: Facts) -> ConnectionFailed:
    refused = pin_refusal(facts.exc)
    assert refused is not None
    return unchecked_connection(facts.host, refused)


# Ready rules: the driver saw the TCP connection refused; a pinned driver (dialects/pinning.py)
# went for an address Datadock did not check.
REFUSED = ErrorRule(PORT_REFUSED, text="Connection refused")
PINNED_ELSEWHERE = ErrorRule(
    _pinned_elsewhere, when=lambda facts: pin_refusal(facts.exc) is not None
)
