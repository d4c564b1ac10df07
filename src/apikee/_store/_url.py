"""Store URLs: one parser for ``memory://``, ``sqlite:``, ``redis://`` and ``rediss://``.

``parse_store_url`` turns a URL into a :class:`StoreURL` (or raises ``ValueError`` with a clear
message that never echoes a password); ``redacted_url`` masks the credentials of any string,
even one that does not parse, for reprs, logs and error messages.

SQLite paths follow file-URL rules: ``sqlite:///var/lib/apikee.db`` (and ``sqlite:////var/…``)
is the absolute path ``/var/lib/apikee.db``; a relative path is written without slashes,
``sqlite:apikee.db`` or ``sqlite:./data/apikee.db``, and is made absolute against the current
directory when the URL is parsed (so every worker process opens the same file).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ._errors import MASK

__all__ = ["StoreURL", "parse_store_url", "redacted_url"]

SCHEMES = ("memory", "sqlite", "redis", "rediss")
REDIS_OPTIONS = (
    "prefix",
    "ssl_ca_certs",
    "ssl_cert_reqs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
)
_CERT_REQS = ("required", "optional", "none")
_PREFIX = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SECRET_PARAM = re.compile(r"(?i)([?&][^=&#]*(?:pass|secret|token|auth)[^=&#]*=)[^&#]*")
_USAGE = (
    "memory://, sqlite:///absolute/path.db, sqlite:relative.db, "
    "redis://[user:password@]host[:port][/db] or rediss://…"
)


@dataclass(frozen=True, repr=False)
class StoreURL:
    """A parsed store URL. ``repr``/``str`` show the redacted form only."""

    scheme: str
    path: str = ""  # sqlite: absolute file path; memory: the optional shared name
    host: str = ""
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, compare=False)
    options: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        """``"memory"``, ``"sqlite"`` or ``"redis"`` (``rediss`` is redis over TLS)."""
        return "redis" if self.scheme == "rediss" else self.scheme

    @property
    def tls(self) -> bool:
        """True for ``rediss://``."""
        return self.scheme == "rediss"

    def option(self, name: str, default: str | None = None) -> str | None:
        """The value of query option ``name`` (the last one given), or ``default``."""
        value = default
        for key, item in self.options:
            if key == name:
                value = item
        return value

    def secrets(self) -> tuple[str, ...]:
        """The strings that must never be shown: the password, raw and percent-encoded."""
        if not self.password:
            return ()
        return (self.password, quote(self.password, safe=""), quote(self.password))

    def redacted(self) -> str:
        """The URL with the password replaced by ``***`` (safe to log)."""
        if self.kind == "memory":
            return f"memory://{self.path}"
        if self.kind == "sqlite":
            return f"sqlite://{quote(self.path)}"
        auth = ""
        if self.username is not None or self.password is not None:
            user = quote(self.username or "", safe="")
            auth = f"{user}:{MASK}@" if self.password is not None else f"{user}@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in self.options)
        return f"{self.scheme}://{auth}{host}:{self.port}/{self.db}" + (
            f"?{query}" if query else ""
        )

    def __repr__(self) -> str:
        return f"StoreURL({self.redacted()!r})"

    __str__ = redacted


def redacted_url(url: object) -> str:
    """``url`` (any string, valid or not) with every credential replaced by ``***``.

    Masks the userinfo of ``scheme://user:password@host`` (a userinfo without ``:`` is masked
    whole: it may be a bare token), even when the password holds unescaped ``/``, ``@`` or ``?``,
    and the values of query parameters whose name mentions pass/secret/token/auth. SQLite and
    memory URLs carry no credentials and are returned unchanged.
    """
    text = url if isinstance(url, str) else repr(url)
    lowered = text.lower()
    if lowered.startswith(("sqlite:", "memory:")):
        return text
    text = _SECRET_PARAM.sub(lambda m: m.group(1) + MASK, text)
    start = text.find("://")
    if start < 0:
        return text
    start += 3
    at = text.rfind("@", start)
    if at < 0:
        return text
    userinfo = text[start:at]
    user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
    masked = f"{user}:{MASK}" if ":" in userinfo else MASK
    return text[:start] + masked + text[at:]


def parse_store_url(url: str) -> StoreURL:
    """Parse ``url``; ``ValueError`` (with the URL redacted) when it is not a store URL."""
    if not isinstance(url, str):
        raise TypeError(f"a store URL must be a str, not {type(url).__name__}")
    shown = redacted_url(url)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported revocation store URL {shown!r}: use {_USAGE}")
    try:
        parts = urlsplit(url)
        if scheme == "memory":
            return _memory(parts.netloc + parts.path, parts.query, shown)
        if scheme == "sqlite":
            return _sqlite(parts.netloc, parts.path, parts.query, shown)
        return _redis(scheme, url, shown)
    except _URLError as exc:
        message = str(exc)
    except ValueError:  # urllib's own text may quote part of the URL: never show it
        message = f"bad revocation store URL {shown!r}: use {_USAGE}"
    raise ValueError(message)  # outside the except: the original error is not chained


class _URLError(ValueError):
    """A message of this module (built from the redacted URL only)."""


def _memory(name: str, query: str, shown: str) -> StoreURL:
    name = name.strip("/")
    if query or not re.fullmatch(r"[A-Za-z0-9_.-]{0,64}", name):
        raise _URLError(f"bad memory store URL {shown!r}: use memory:// or memory://name")
    return StoreURL("memory", path=name)


def _sqlite(netloc: str, path: str, query: str, shown: str) -> StoreURL:
    if netloc:
        raise _URLError(
            f"bad SQLite store URL {shown!r}: a SQLite URL has no host; write "
            "sqlite:///absolute/path.db or sqlite:relative/path.db"
        )
    if query:
        raise _URLError(f"bad SQLite store URL {shown!r}: no query options are supported")
    path = unquote(path)
    if path in ("", "/", ":memory:", "/:memory:"):
        raise _URLError(
            f"bad SQLite store URL {shown!r}: give a database file path "
            "(sqlite:///absolute/path.db); for a store in one process use memory://"
        )
    if "\x00" in path:
        raise _URLError(f"bad SQLite store URL {shown!r}: the path contains a NUL byte")
    if path.startswith("/"):
        path = "/" + path.lstrip("/")
    return StoreURL("sqlite", path=os.path.abspath(path))


def _redis(scheme: str, url: str, shown: str) -> StoreURL:
    parts = urlsplit(url)
    bad = f"bad Redis store URL {shown!r}"
    if parts.fragment:
        raise _URLError(f"{bad}: a fragment (#…) is not allowed")
    try:
        host = parts.hostname or ""
        port = parts.port if parts.port is not None else 6379
    except ValueError:
        raise _URLError(f"{bad}: the port must be a number from 1 to 65535") from None
    if not host:
        raise _URLError(f"{bad}: a host is required (redis://host:6379/0)")
    if not 0 < port < 65536:
        raise _URLError(f"{bad}: the port must be a number from 1 to 65535")
    db_text = parts.path.strip("/") or "0"
    if not db_text.isdigit() or len(db_text) > 6:
        raise _URLError(f"{bad}: the path must be a database number (redis://host:6379/0)")
    options = tuple(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in options:
        if name not in REDIS_OPTIONS:
            raise _URLError(f"{bad}: unknown option {name!r} (known: {', '.join(REDIS_OPTIONS)})")
        if name.startswith("ssl_") and scheme != "rediss":
            raise _URLError(f"{bad}: {name} needs a rediss:// (TLS) URL")
        if name == "prefix" and not _PREFIX.fullmatch(value):
            raise _URLError(f"{bad}: prefix must be 1-64 characters of A-Z a-z 0-9 _ . : -")
        if name == "ssl_cert_reqs" and value not in _CERT_REQS:
            raise _URLError(f"{bad}: ssl_cert_reqs must be one of {', '.join(_CERT_REQS)}")
        if name == "ssl_check_hostname" and value not in ("true", "false"):
            raise _URLError(f"{bad}: ssl_check_hostname must be true or false")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is None and username is not None:
        password, username = username, None  # redis://secret@host: a bare password (AUTH secret)
    return StoreURL(
        scheme,
        host=host,
        port=port,
        db=int(db_text),
        username=username,
        password=password,
        options=options,
    )
