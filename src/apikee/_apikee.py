"""The ``Apikee`` object users configure once and call on every request."""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import EllipsisType
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ._claims_py import ApikeeClaims
from ._core import load_backend

if TYPE_CHECKING:
    from ._core import Verifier
    from ._limiter_py import Decision
    from ._policy import Entry
    from ._revocation import StoreBinding
    from ._store import Revocation, Store
    from ._store._usage import KeyUsage
    from ._usage import Usage
    from .asgi import ApikeeMiddleware
from ._duration import expiry_timestamp, instant_timestamp
from ._errors import (
    MSG_IP_NOT_ALLOWED,
    ApikeeConfigError,
    ApikeeError,
    ErrorCode,
    RateLimitExceeded,
)
from ._header import first_value
from ._ids import new_key_id
from ._limiter import load_limiter
from ._options import checked_leeway, checked_max_key_length
from ._payload import load_json
from ._policy import (
    PolicyTable,
    RateLimit,
    TrustedProxies,
    client_address,
    parse_ips,
    parse_limits,
)
from ._scopes import require_scopes
from ._wire import DEFAULT_MAX_KEY_LENGTH, IP_CLAIM, MIN_SECRET_BYTES, PREFIX, RATE_CLAIM

__all__ = ["Apikee", "KeyOptions", "get_apikee", "WeakSecretWarning", "ApikeeConfigError"]

_NO_SECRET = (
    "no signing secret is configured: set APIKEE_SECRET, or pass secret=... / secrets=[...].\n"
    "  Generate one with: openssl rand -hex 32\n"
    "  (or: python -m apikee secret)"
)


class WeakSecretWarning(UserWarning):
    """A signing secret is shorter than 32 bytes (the secret itself is never shown)."""


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _secret_bytes(secret: Any) -> bytes | None:
    """UTF-8 bytes of a usable secret, or None for a blank entry (dropped, as documented)."""
    if secret is None:
        return None
    if isinstance(secret, str):
        return secret.encode("utf-8") if secret.strip() else None
    if isinstance(secret, (bytes, bytearray)):
        return bytes(secret) if bytes(secret).strip() else None
    raise ApikeeConfigError(f"a secret must be str or bytes, not {type(secret).__name__}")


def _resolve_secrets(secret: Any, secrets: Iterable[Any] | None) -> list[bytes]:
    if isinstance(secrets, (str, bytes)):
        raise ApikeeConfigError("secrets must be a list of secrets (use secret= for just one)")
    candidates: list[list[bytes]] = []
    if secrets is not None:
        try:
            candidates.append([s for s in map(_secret_bytes, secrets) if s is not None])
        except UnicodeEncodeError:
            raise ApikeeConfigError("a secret is not valid Unicode text") from None
    if secret is not None:
        try:
            candidates.append([s for s in [_secret_bytes(secret)] if s is not None])
        except UnicodeEncodeError:
            raise ApikeeConfigError("the secret is not valid Unicode text") from None
    from_env = _env("APIKEE_SECRET")
    if from_env:
        candidates.append([from_env.encode("utf-8", "surrogateescape")])
    for found in candidates:
        if found:
            return found
    raise ApikeeConfigError(_NO_SECRET)


@dataclass
class KeyOptions:
    """Options for a new key (the apikee 0.1.2 form; ``Apikee.create`` also accepts one)."""

    tenant: str
    scopes: list[str] = field(default_factory=list)
    expires_in: timedelta | datetime | int | float | str | None = timedelta(days=90)
    not_before: datetime | int | float | None = None
    environment: str = "production"
    meta: dict[str, Any] = field(default_factory=dict)
    rate_limit: str | RateLimit | list[str | RateLimit] | None = None
    allow_ips: list[str] | None = None


class Apikee:
    """Issues and verifies apikee keys.

    Secrets come from ``secrets`` (a list, current first; blank entries dropped so
    ``[current, previous or ""]`` works), else ``secret``, else ``APIKEE_SECRET``. Keys are signed
    with the first secret and verified against all of them (rotation).

    Verification options: ``leeway`` (seconds of clock tolerance on exp/nbf), ``max_key_length``
    (longer keys are rejected before decoding), ``environment`` (when set, keys of another
    environment fail with ``WRONG_ENVIRONMENT``), ``is_revoked`` (a callable given the claims;
    true means ``REVOKED``). ``implementation`` (``"native"``/``"pure"``) overrides the
    automatic choice of hot path for this instance (tests, debugging).

    State: ``store`` (a URL ``memory://``, ``sqlite:///path/apikee.db``, ``redis://…``,
    ``rediss://…``, or a store object; default ``APIKEE_STORE``, else none: stateless) holds
    revocations; verify() reads an in-process snapshot of it, refreshed in the background.
    ``server_timeout`` bounds every store call; with ``fail_open=False`` verification fails
    with ``STORE_UNAVAILABLE`` once the snapshot is older than ``max_staleness`` seconds
    (default: a few refresh periods). See :meth:`revoke` and :meth:`store_status`.

    Limits (docs/SPEC.md section 8): ``rate_limit`` is the default for keys without limits of
    their own (``"100/m"``, ``["10/s", "100000/month"]``, ``RateLimit`` objects);
    ``tenant_limits`` maps a tenant to limits that replace its keys' own (``None``: unlimited).
    The counters live in the store (``redis://``: the fleet; ``sqlite://``: the host; none or
    ``memory://``: this process). ``trusted_proxies`` (addresses or CIDR ranges) are the only
    peers whose ``X-Forwarded-For`` / ``Forwarded`` headers name the client for IP allow lists.
    """

    def __init__(
        self,
        *,
        secret: str | bytes | None = None,
        secrets: Iterable[str | bytes | None] | None = None,
        server_key: str | None = None,
        project_env: str | None = None,
        header_name: str = "x-api-key",
        default_expiry: timedelta | int | float | str | None = timedelta(days=90),
        leeway: float | timedelta = 0,
        max_key_length: int = DEFAULT_MAX_KEY_LENGTH,
        environment: str | None = None,
        is_revoked: Callable[[Any], bool] | None = None,
        fail_open: bool = True,
        server_timeout: float = 3.0,
        implementation: str | None = None,
        store: str | Store | None = None,
        max_staleness: float | None = None,
        rate_limit: str | RateLimit | Iterable[str | RateLimit] | None = None,
        tenant_limits: dict[str, Any] | None = None,
        trusted_proxies: Iterable[str] | None = None,
        limit_retry_interval: float = 1.0,
        usage: bool | Usage | None = None,
    ) -> None:
        raw_secrets = _resolve_secrets(secret, secrets)
        weak = sum(1 for s in raw_secrets if len(s) < MIN_SECRET_BYTES)
        if weak:
            warnings.warn(
                f"{weak} of the {len(raw_secrets)} signing secret(s) is shorter than "
                f"{MIN_SECRET_BYTES} bytes; generate a strong one with: openssl rand -hex 32",
                WeakSecretWarning,
                stacklevel=2,
            )
        max_key_length = checked_max_key_length(max_key_length, minimum=64)
        leeway = checked_leeway(leeway)
        if not isinstance(header_name, str) or not header_name.strip():
            raise ApikeeConfigError("header_name must be a non-empty string")
        try:  # fail now, not at the first create()
            expiry_timestamp(default_expiry, time.time())
        except (TypeError, ValueError) as exc:
            raise ApikeeConfigError(f"default_expiry: {exc}") from None
        if is_revoked is not None and not callable(is_revoked):
            raise ApikeeConfigError("is_revoked must be a callable taking the claims, or None")
        if environment is not None and not isinstance(environment, str):
            raise ApikeeConfigError("environment must be a str, or None")
        backend = load_backend(implementation)
        self._backend_name = "native" if backend.__name__.endswith("_core_c") else "pure"
        self._b62encode = backend.b62encode
        self._policies = self._policy_table(rate_limit, tenant_limits)
        # Whether every key may have a policy (the Apikee's own limits or a tenant's); else only
        # keys with an rl/ip claim do, and policy() answers None for the others at once.
        self._policy_for_all = self._policies.default is not None or bool(self._policies.tenants)
        self._has_policy = backend.has_policy_claims
        self._asgi_gate = backend.AsgiGate  # the ASGI middleware's per-request check
        self._trusted = self._trusted_proxies(trusted_proxies)
        self._verifier: Verifier = backend.Verifier(
            raw_secrets,
            max_key_length,
            leeway,
            environment=environment,
            is_revoked=is_revoked,
            policy=self._policies.resolve,
        )
        self._secret_count = len(raw_secrets)
        self._header = header_name.lower()
        self._expiry = default_expiry
        if store is None:
            store = _env("APIKEE_STORE")
        self._store: StoreBinding | None = None
        if store is not None:
            from ._revocation import StoreBinding

            self._store = StoreBinding(
                store,
                self._verifier,
                fail_open=fail_open,
                server_timeout=server_timeout,
                max_staleness=max_staleness,
            )
        self._setup_limiter(fail_open, server_timeout, limit_retry_interval)
        self._usage: Usage | None = None
        self._gate_verify = self._verifier.verify
        if usage:
            from ._usage import Usage

            if usage is True:
                usage = Usage()
            if not isinstance(usage, Usage):
                raise ApikeeConfigError("usage must be True, a Usage object, or None")
            usage.bind(
                self, self._gate, None if self._store is None else self._store.snapshot.store
            )
            self._usage = usage
            self._gate_verify = self._gate.verify_counted
        if type(self).verify is Apikee.verify:
            # verify() is the verifier's own method (which ends with the policy check of
            # docs/SPEC.md section 8), or the gate's counted one with usage on: binding it on
            # the instance saves a Python frame on every request. A subclass that overrides
            # verify() keeps its override.
            self.verify = self._gate_verify  # type: ignore[method-assign]
        if type(self).check_rate_limit is Apikee.check_rate_limit:
            self.check_rate_limit = self._gate.limit  # type: ignore[method-assign]
        self._project_env = project_env or _env("APIKEE_PROJECT_ENV")

    def _policy_table(self, rate_limit: Any, tenant_limits: Any) -> PolicyTable:
        try:
            default = parse_limits(rate_limit)
            if tenant_limits is not None and not isinstance(tenant_limits, dict):
                raise ValueError("tenant_limits must be a dict of tenant -> limits")
            tenants = {}
            for tenant, limits in (tenant_limits or {}).items():
                if not isinstance(tenant, str):
                    raise ValueError("tenant_limits: every tenant is a str")
                parsed = parse_limits(limits)
                tenants[tenant] = parsed if parsed else None
        except ValueError as exc:
            raise ApikeeConfigError(str(exc)) from None
        self._limiter_module = load_limiter(self._backend_name)
        return PolicyTable(self._limiter_module, default, tenants)

    @staticmethod
    def _trusted_proxies(trusted_proxies: Any) -> TrustedProxies | None:
        try:
            proxies = parse_ips(trusted_proxies, "trusted_proxies")
        except ValueError as exc:
            raise ApikeeConfigError(str(exc)) from None
        return None if proxies is None else TrustedProxies(proxies)

    def _setup_limiter(self, fail_open: bool, server_timeout: float, retry_interval: float) -> None:
        if not (isinstance(retry_interval, (int, float)) and 0 < retry_interval < 3600):
            raise ApikeeConfigError("limit_retry_interval must be a positive number of seconds")
        module = self._limiter_module
        self._local_limiter = module.LocalLimiter()
        self._limiter: Any = self._local_limiter
        if self._store is not None:
            from ._limits_store import GuardedLimiter, remote_limiter

            remote = remote_limiter(
                self._store.snapshot.store, module, server_timeout=server_timeout
            )
            if remote is not None:
                self._limiter = GuardedLimiter(
                    remote,
                    self._local_limiter,
                    fail_open=fail_open,
                    retry_interval=float(retry_interval),
                )
        # The verifier checks a key's own policy claims itself (its ``policy=``); the gate adds
        # the limiter and the usage counts.
        self._gate = module.Gate(
            self._verifier.verify, self._policies.entries, self._policies.resolve, self._limiter
        )

    # ── configuration, readable ─────────────────────────────────────────────────────────────

    @property
    def header_name(self) -> str:
        """The (lower-case) header the integrations read the key from."""
        return self._header

    @property
    def secret_count(self) -> int:
        """How many secrets are tried when verifying (never the secrets themselves)."""
        return self._secret_count

    @property
    def max_key_length(self) -> int:
        """Longer keys are rejected with ``INVALID_FORMAT`` before any decoding."""
        return self._verifier.max_key_length

    @property
    def implementation(self) -> str:
        """``"native"`` or ``"pure"``: which hot path this instance uses."""
        return self._backend_name

    @property
    def project_env(self) -> str | None:
        """The apikee.dev project environment slug, if configured."""
        return self._project_env

    @property
    def server_mode(self) -> bool:
        """Always False: this version verifies locally only (no apikee.dev calls)."""
        return False

    @property
    def store_kind(self) -> str | None:
        """``"memory"``, ``"sqlite"`` or ``"redis"`` (never the URL), or None without a store."""
        return None if self._store is None else self._store.snapshot.store.kind

    @property
    def trusted_proxies(self) -> tuple[str, ...]:
        """The proxies whose forwarding headers are believed (empty: none, the default)."""
        return () if self._trusted is None else self._trusted.text

    def __repr__(self) -> str:
        store = "" if self._store is None else f", store={self.store_kind!r}"
        return (
            f"Apikee(secrets={self._secret_count}, header_name={self._header!r}, "
            f"implementation={self._backend_name!r}{store})"
        )

    # ── revocation (needs a store) ──────────────────────────────────────────────────────────

    def _binding(self) -> StoreBinding:
        if self._store is None:
            raise ApikeeConfigError(
                "no store is configured: pass store='sqlite:///path/apikee.db' (or redis://…) "
                "to Apikee(), or set APIKEE_STORE"
            )
        return self._store

    def revoke(self, key_or_id: str | bytes, *, reason: str | None = None) -> Revocation:
        """Revoke a key everywhere its store reaches; returns the record written.

        ``key_or_id``: a full key (revoked by its id, or by its fingerprint ``hash_key(key)``
        when it has none; it must verify with this instance's secrets, whatever its expiry), a
        key id, or a fingerprint (64 hex digits). Every verifier sharing the store rejects the
        key with ``REVOKED`` within its refresh period; this one at once. Raises
        :class:`~apikee.StoreUnavailable` when the store cannot take the write (never a silent
        loss), ``ValueError`` for input that names no key, ``ApikeeConfigError`` without store.
        """
        return self._binding().revoke(key_or_id, reason)

    def revoke_tenant(
        self,
        tenant: str,
        *,
        issued_before: datetime | timedelta | float | None = None,
        reason: str | None = None,
    ) -> Revocation:
        """Revoke every key of ``tenant`` issued before ``issued_before`` (default: now), so a
        tenant can be cut off or force-rotated; keys issued later stay valid. The issue time is
        the ``iat`` claim, else the instant in the key's time-ordered id (every key this library
        issues); keys with neither (0.1.x) count as issued before any cutoff."""
        return self._binding().revoke_tenant(tenant, issued_before, reason)

    def unrevoke(self, key_or_id: str | bytes | None = None, *, tenant: str | None = None) -> bool:
        """Take a revocation back (a key, key id or fingerprint, or ``tenant=``); True if there
        was one."""
        return self._binding().unrevoke(key_or_id, tenant)

    def revocations(self) -> list[Revocation]:
        """Every revocation in the store: kind (id/fingerprint/tenant), value, reason, when and
        by which host. Entries of keys that have expired anyway are pruned automatically."""
        return self._binding().list()

    def store_status(self) -> dict[str, Any] | None:
        """The snapshot's health: kind, redacted URL, ``healthy``, ``age`` (seconds since the
        store last confirmed it), entries, last error; None without a store."""
        return None if self._store is None else self._store.status()

    def close(self) -> None:
        """Stop the store's background refresher and the usage flush, after a last flush
        (tests, short-lived scripts)."""
        if self._usage is not None:
            self._usage.close()
        if self._store is not None:
            self._store.close()

    # ── usage (Apikee(usage=True)) ──────────────────────────────────────────────────────────

    @property
    def usage(self) -> Usage | None:
        """The usage counters (``usage.snapshot()``, ``usage.flush()``), or None when off."""
        return self._usage

    def _usage_on(self) -> Usage:
        if self._usage is None:
            raise ApikeeConfigError("usage is off: pass usage=True to Apikee()")
        return self._usage

    def key_usage(self, key_or_id: str | bytes) -> KeyUsage | None:
        """What is known of a key (a full key or its id): ``tenant``, ``uses`` and
        ``last_used`` (unix seconds), from the store (and this process's newer figures);
        None if it never verified. ``StoreUnavailable`` when the store cannot be read."""
        from ._usage import key_id_of

        return self._usage_on().usage_of(key_id_of(key_or_id))

    def last_used(self, key_or_id: str | bytes) -> datetime | None:
        """When the key (a full key or its id) last verified successfully (UTC), as far as
        the store knows after the last flush; None if never."""
        found = self.key_usage(key_or_id)
        if found is None:
            return None
        from datetime import timezone

        return datetime.fromtimestamp(found.last_used, tz=timezone.utc)

    # ── issuing ─────────────────────────────────────────────────────────────────────────────

    def create(
        self,
        tenant: str | KeyOptions,
        *,
        scopes: Iterable[str] | None = None,
        expires_in: timedelta | datetime | int | float | str | None | EllipsisType = ...,
        not_before: datetime | timedelta | int | float | None = None,
        meta: dict[str, Any] | None = None,
        environment: str = "production",
        client_name: str | None = None,
        client_type: str = "service",
        template_id: str | None = None,
        ip_whitelist: list[str] | None = None,
        rate_limit: str | RateLimit | Iterable[str | RateLimit] | None = None,
        allow_ips: Iterable[str] | None = None,
    ) -> str:
        """Create a signed key for ``tenant``; returns the key string (store it nowhere).

        ``expires_in``: a timedelta, an absolute datetime (naive = UTC), seconds, a duration
        string (``"90d"``, ``"24h"``, ``"60m"``, ``"3600s"``, ``"1w"``), or ``None`` for a key that
        never expires; default ``default_expiry`` (90 days).

        ``rate_limit``: the key's own limits (``"10/s"``, ``["10/s", "100000/month"]``,
        ``"10/1s burst 20"``, ``RateLimit`` objects, or ``"unlimited"`` to escape the
        verifier's default), written in the ``rl`` claim. ``allow_ips`` (0.1.2's name
        ``ip_whitelist`` works too): addresses and CIDR ranges the key may be used from (the
        ``ip`` claim). Both are enforced by this library's integrations and
        :meth:`enforce` (docs/SPEC.md section 8); a malformed one is a ``ValueError`` here.
        ``client_name`` and ``client_type`` are accepted for 0.1.2 compatibility and have no
        effect; ``template_id`` (0.1.2's server-side templates) is refused unless None.
        """
        if isinstance(tenant, KeyOptions):
            options = tenant
            return self.create(
                options.tenant,
                scopes=options.scopes,
                expires_in=options.expires_in,
                not_before=options.not_before,
                meta=options.meta,
                environment=options.environment,
                rate_limit=options.rate_limit,
                allow_ips=options.allow_ips,
            )
        if not isinstance(tenant, str):
            raise TypeError(f"tenant must be a str, not {type(tenant).__name__}")
        if isinstance(scopes, (str, bytes)):
            raise TypeError("scopes must be a list of strings, not a single string")
        scope_list = list(scopes or ())
        for scope in scope_list:
            if not isinstance(scope, str):
                raise TypeError(f"every scope must be a str, not {type(scope).__name__}")
        if not isinstance(environment, str):
            raise TypeError("environment must be a str")
        if meta is not None and not isinstance(meta, dict):
            raise TypeError("meta must be a dict")
        if template_id is not None:
            raise ValueError(
                "template_id needs apikee.dev server-side templates, which this version does not "
                "have: pass rate_limit= and allow_ips= to put the policy in the key itself"
            )
        if ip_whitelist is not None:
            if allow_ips is not None:
                raise ValueError("give allow_ips or its old name ip_whitelist, not both")
            allow_ips = ip_whitelist
        limits = parse_limits(rate_limit)
        ips = parse_ips(allow_ips)
        now = time.time()
        claims: dict[str, Any] = {
            "id": new_key_id(),
            "tid": tenant,
            "scp": scope_list,
            "env": environment,
        }
        exp = expiry_timestamp(self._expiry if expires_in is ... else expires_in, now)
        if exp is not None:
            claims["exp"] = exp
        if not_before is not None:
            claims["nbf"] = nbf = instant_timestamp(not_before, now, "not_before")
            if exp is not None and nbf >= exp:
                raise ValueError(
                    "not_before is at or after the expiry: the key could never be valid "
                    "(move not_before earlier or expires_in later)"
                )
        if meta:
            claims["meta"] = meta
        if limits is not None:
            claims[RATE_CLAIM] = [limit.wire() for limit in limits]
        if ips is not None:
            claims[IP_CLAIM] = ips
        try:
            text = json.dumps(claims, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            payload = text.encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the claims cannot be encoded as JSON: {exc}") from None
        try:  # never issue a key verify() would refuse (nesting, huge integers, surrogates)
            load_json(payload)
        except ApikeeError as exc:
            raise ValueError(f"the claims cannot go in a key: {exc.message}") from None
        signature = self._verifier.sign(payload).lstrip(b"\x00")  # canonical: no leading '0'
        key = f"{PREFIX}{self._b62encode(payload)}.{self._b62encode(signature)}"
        if len(key) > self.max_key_length:
            raise ValueError(
                f"the key would be {len(key)} characters, over max_key_length="
                f"{self.max_key_length}; make meta smaller"
            )
        return key

    # ── verifying ───────────────────────────────────────────────────────────────────────────

    def verify(
        self,
        key: Any,
        *,
        now: float | None = None,
        scopes: Iterable[str] | None = None,
        any_of: bool = False,
    ) -> ApikeeClaims:
        """Verify a key (str, or the raw header bytes) and return its claims.

        Raises :class:`ApikeeError` (and nothing else, whatever ``key`` is) with the code of the
        first failing check (docs/SPEC.md section 2). ``now`` (unix seconds) makes tests deterministic.
        ``scopes`` are required scopes (all of them, or any with ``any_of=True``): missing ones
        give ``INSUFFICIENT_SCOPE``.
        """
        return self._gate_verify(key, now, scopes=scopes, any_of=any_of)  # type: ignore[no-any-return]

    # ── limits and allow lists (docs/SPEC.md section 8) ─────────────────────────────────────

    def policy(self, claims: ApikeeClaims) -> Entry | None:
        """The resolved policy of verified ``claims``: ``bucket``, ``plan`` (its limits) and
        ``ips`` (its allow list); None when neither applies. ``INVALID_CLAIMS`` if malformed."""
        if not self._policy_for_all and not self._has_policy(claims):
            return None
        return self._gate.entry(claims)  # type: ignore[no-any-return]

    def client_ip(
        self,
        peer: str | None,
        forwarded_for: Iterable[str] = (),
        forwarded: Iterable[str] = (),
    ) -> str | None:
        """The client address of a request whose TCP peer is ``peer``: the forwarding headers
        count only when ``peer`` is one of ``trusted_proxies``."""
        return client_address(peer, forwarded_for, forwarded, self._trusted)

    def check_ip(self, claims: ApikeeClaims, address: str | None) -> None:
        """Raise ``IP_NOT_ALLOWED`` (403) unless the key may be used from ``address`` (an
        unknown address, None, is never in an allow list)."""
        entry = self._gate.entry(claims)
        if entry is not None and entry.ips is not None and not entry.ips.allows(address):
            raise ApikeeError(ErrorCode.IP_NOT_ALLOWED, MSG_IP_NOT_ALLOWED)

    def check_rate_limit(
        self, claims: ApikeeClaims, *, cost: int = 1, now: float | None = None
    ) -> Decision | None:
        """Count one request of ``cost`` against the key's limits and return the decision
        (``allowed``, ``limit``, ``remaining``, ``reset``, ``retry_after``); None when no limit
        applies. Never raises a store error (``fail_open``: decided locally), except
        ``STORE_UNAVAILABLE`` when failing closed."""
        return self._gate.limit(claims, cost=cost, now=now)  # type: ignore[no-any-return]

    def enforce(
        self,
        claims: ApikeeClaims,
        *,
        client_ip: str | None = None,
        cost: int = 1,
        now: float | None = None,
    ) -> Decision | None:
        """Everything the integrations do after verify(): the allow list (``IP_NOT_ALLOWED``,
        403), then the limits (:class:`~apikee.RateLimitExceeded`, ``RATE_LIMITED``, 429, with
        the decision). Returns the decision of an admitted request (None: no limit)."""
        entry = self._gate.entry(claims)
        if entry is None:
            return None
        if entry.ips is not None and not entry.ips.allows(client_ip):
            if self._usage is not None:
                self._usage.refused(ErrorCode.IP_NOT_ALLOWED, claims)
            raise ApikeeError(ErrorCode.IP_NOT_ALLOWED, MSG_IP_NOT_ALLOWED)
        if entry.plan is None:
            return None
        decision = self._limiter.check(entry.bucket, entry.plan, cost, now)
        if not decision.allowed:
            if self._usage is not None:
                self._usage.refused(ErrorCode.RATE_LIMITED, claims)
            raise RateLimitExceeded(decision)
        return decision  # type: ignore[no-any-return]

    def limiter_status(self) -> dict[str, Any]:
        """Where the counters live (``local``, ``redis``, ``sqlite``), whether the shared store
        answers, and how many local buckets exist."""
        limiter = self._limiter
        status: dict[str, Any] = {"kind": "local", "local_buckets": len(self._local_limiter)}
        if limiter is not self._local_limiter:
            status.update(
                kind=limiter.kind,
                healthy=limiter.healthy,
                failures=limiter.failures,
                last_error=limiter.last_error,
                fail_open=limiter.fail_open,
            )
        return status

    @staticmethod
    def check_scopes(claims: Any, required: Iterable[str], *, any_of: bool = False) -> None:
        """Raise ``INSUFFICIENT_SCOPE`` unless the claims grant the required scopes."""
        require_scopes(claims.scopes, required, any_of=any_of)

    def protect(self, header_value: Any) -> ApikeeClaims:
        """Inline guard for any framework: ``apikee.protect(request.headers.get("x-api-key"))``."""
        # Exact types only: never call a hostile object's __eq__/__len__ here.
        kind = type(header_value)
        if kind is str or kind is bytes:  # the integrations' header rule (docs/SPEC.md §3)
            header_value = first_value(header_value)
        if header_value is None:
            raise ApikeeError(ErrorCode.MISSING_KEY, f"the '{self._header}' header is required")
        return self.verify(header_value)

    # ── integrations (imported lazily: the base install has no framework dependency) ─────────

    @property
    def middleware(self) -> type[ApikeeMiddleware]:
        """An ASGI middleware class bound to this instance: ``app.add_middleware(apikee.middleware)``."""
        from .asgi import ApikeeMiddleware

        bound = self

        class BoundApikeeMiddleware(ApikeeMiddleware):
            def __init__(self, app: Any, **options: Any) -> None:
                options.setdefault("apikee", bound)
                super().__init__(app, **options)

        return BoundApikeeMiddleware

    def configure_swagger(self, app: Any) -> None:
        """Add the ``ApikeeAuth`` header security scheme to a FastAPI app's OpenAPI schema."""
        from .fastapi import add_security_scheme

        add_security_scheme(app, self._header)


_instance: Apikee | None = None


def get_apikee() -> Apikee:
    """A shared instance built once from the environment (``APIKEE_SECRET``…)."""
    global _instance
    if _instance is None:
        _instance = Apikee()
    return _instance
