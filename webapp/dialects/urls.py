"""Connection strings (postgresql://…, mysql://…, jdbc:sqlserver://…, md:…) turned into field
values; never stored.

Each dialect declares the schemes it reads and how (`url_schemes`, `url_form`, `url_hosts` on
its class); this module holds the shared reading (UrlForm) and asks the registry which dialect
owns a pasted string's scheme.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from .fields import FieldInvalid

if TYPE_CHECKING:
    from .base import Dialect

NOT_A_URL = "This is not a connection URL (scheme://user:password@host:port/db)"
NO_HOST = "The URL has no host (scheme://user:password@host:port/…)"
UNKNOWN_SCHEME = "Paste a URL such as postgresql://user:password@host:5432/database"
# Option values that mean "encrypted" in the URLs drivers document.
TRUE = {"true", "1", "yes", "strict", "mandatory", "require", "required", "https", "tcps"}
SSL_ON = {
    "require",
    "verify-ca",
    "verify-full",
    "true",
    "1",
    "required",
    "verify_identity",
    "verify_ca",
}
# MySQL's ssl-mode names as the sslMode field's values.
MYSQL_SSL_MODES = {
    "required": "require",
    "verify_ca": "verify-ca",
    "verify_identity": "verify-full",
}

More = Callable[[SplitResult, dict[str, str]], dict[str, Any]]


def split_url(text: str) -> SplitResult:
    """The URL's parts; FieldInvalid when it is not one (or its port is not a number)."""
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        raise FieldInvalid(NOT_A_URL) from None
    return parts


def query_options(query: str) -> dict[str, str]:
    """A query string's options, names lower-cased, the last value of each."""
    return {k.lower(): v[-1] for k, v in parse_qs(query).items()}


@dataclass(frozen=True)
class UrlForm:
    """How a dialect's connection strings map onto its fields.

    A URL's host, port, user and password go to the fields named (None: not read; a form with a
    `host` field requires a host), its first path segment (or the whole path) to `path`, query
    `options` to fields (overriding the path), and `more` reads what needs a rule of its own
    (TLS flags, a host that is really an account). A form with a `pattern` reads strings that
    are not URLs: the regex's named groups are field names.
    """

    host: str | None = "host"
    port: str | None = "port"
    username: str | None = "username"
    password: str | None = "password"  # noqa: S105 - a field name
    path: str | None = "databaseName"
    whole_path: bool = False
    options: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    more: More | None = None
    pattern: str | None = None
    invalid: str = NO_HOST

    def read(self, text: str, options: dict[str, str] | None = None) -> dict[str, Any]:
        """Field values from `text` (`options` given: use them instead of its query)."""
        if self.pattern is not None:
            return self._read_pattern(text)
        parts = split_url(text)
        values: dict[str, Any] = {}
        if self.host is not None:
            if not parts.hostname:
                raise FieldInvalid(self.invalid)
            values[self.host] = parts.hostname
        for name, value in (
            (self.port, parts.port),
            (self.username, parts.username),
            (self.password, parts.password),
        ):
            if name is not None and value not in (None, ""):
                values[name] = unquote(value) if isinstance(value, str) else value
        if self.path is not None:
            segments = [unquote(s) for s in parts.path.split("/") if s]
            path = unquote(parts.path.lstrip("/")) if self.whole_path else next(iter(segments), "")
            if path:
                values[self.path] = path
        options = query_options(parts.query) if options is None else options
        if self.more is not None:
            values.update(self.more(parts, options))
        values.update(
            {name: options[key] for key, name in self.options.items() if options.get(key)}
        )
        return values

    def _read_pattern(self, text: str) -> dict[str, Any]:
        match = re.search(self.pattern or "", text)
        if not match:
            raise FieldInvalid(self.invalid)
        values = {k: unquote(v) for k, v in match.groupdict().items() if v}
        options = query_options(text.partition("?")[2])
        values.update(
            {name: options[key] for key, name in self.options.items() if options.get(key)}
        )
        return values


def tls_options(parts: SplitResult, options: dict[str, str]) -> dict[str, Any]:
    """sslEnabled and sslMode from libpq's `sslmode`, MySQL's `ssl-mode`, a plain `ssl` or
    Prisma's `sslaccept=strict`; options that would make a driver read files are never read."""
    mode = (options.get("sslmode") or options.get("ssl-mode") or options.get("ssl") or "").lower()
    if options.get("sslaccept", "").lower() == "strict":  # Prisma's PlanetScale URLs
        mode = "verify-full"
    if not mode:
        return {}
    values: dict[str, Any] = {"sslEnabled": mode in SSL_ON}
    mode = MYSQL_SSL_MODES.get(mode, mode)
    if mode in {"verify-ca", "verify-full", "require"}:
        values["sslMode"] = mode
    return values


# libpq's and MySQL's URLs: scheme://user:password@host:port/database?sslmode=…
SERVER_URL = UrlForm(whole_path=True, more=tls_options, invalid=UNKNOWN_SCHEME)


def scheme_of(text: str) -> str:
    """The scheme a string names: `jdbc:` dropped, `+driver` dropped, lower case."""
    return text.split(":", 1)[0].lower().split("+", 1)[0]


def owner_of(scheme: str, dialects: Collection[Dialect]) -> Dialect | None:
    """The first registered dialect that reads `scheme`."""
    return next((d for d in dialects if scheme in d.url_schemes), None)


def parse_connection_string(
    text: str, known: Collection[str] | None = None
) -> tuple[str, dict[str, Any]]:
    """Return (dialect key, field values) from a connection string; raise FieldInvalid when it
    is not one.

    The registry says which dialect owns the scheme; a dialect of the same family whose
    `url_hosts` end the host name claims the string instead (a Supabase host is SUPABASE).
    `known` limits the dialects accepted (default: every registered one).
    """
    from . import DIALECTS  # the registry imports the dialect modules, which import this one

    text = text.strip()
    if text.lower().startswith("jdbc:"):
        text = text[5:]
    scheme = scheme_of(text)
    owner = owner_of(scheme, DIALECTS.values()) if scheme else None
    if owner is None:
        raise FieldInvalid(UNKNOWN_SCHEME)
    accepted = set(DIALECTS if known is None else known)
    values = owner.read_url(text)
    host = str(values.get("host") or "").lower()
    for dialect in DIALECTS.values():
        if (
            scheme in dialect.url_schemes
            and dialect.key in accepted
            and host
            and any(host.endswith(h) for h in dialect.url_hosts)
        ):
            owner = dialect
            break
    if owner.key not in accepted:
        raise FieldInvalid(f"{owner.key} connection strings are not supported by this server")
    return owner.key, values
