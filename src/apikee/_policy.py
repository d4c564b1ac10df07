"""Per-key policy: rate limits and IP allow lists carried in the signed claims (docs/SPEC.md
section 8, "Rate limits and IP allow lists").

Shared by both implementations and kept off the hot-path twins: a key's policy is read from
``claims.to_dict()`` once per key and process (then looked up by ``claims.raw_key``), so the
twins need no new claim and decide alike by construction.

- ``rl``: a list of at most 8 ``[limit, window]`` or ``[limit, window, burst]`` integer lists
  (limit and burst 1..10**9, window 1..2592000 seconds, i.e. a second to a month of 30 days);
  ``[]`` means "no limit", overriding the verifier's default.
- ``ip``: a list of 1..1000 IPv4/IPv6 addresses or CIDR ranges (strings, host bits clear).

What users write (``create(rate_limit=...)``, ``Apikee(rate_limit=...)``, ``--rate-limit``):
``"10/s"``, ``"100/5m"``, ``"100000/month"``, ``"10/1s burst 20"``, several separated by
commas or in a list, :class:`RateLimit` objects or ``{"limit", "window", "burst"}`` dicts, or
``"unlimited"``. Windows use the grammar of ``expires_in`` (``s m h d w``) plus ``mo``/``month``
(30 days); a bare unit means 1 of it.
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import math
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterable, Mapping, Union, cast

from ._errors import MSG_CLAIM_TYPE, ApikeeError, ErrorCode
from ._wire import IP_CLAIM, RATE_CLAIM

__all__ = [
    "MAX_COUNT",
    "MAX_IPS",
    "MAX_WINDOW",
    "MONTH",
    "Entry",
    "IPMatcher",
    "PolicyTable",
    "RateLimit",
    "TrustedProxies",
    "client_address",
    "parse_ips",
    "parse_limits",
    "parse_window",
    "rate_headers",
]

MONTH = 30 * 86400
MAX_WINDOW = MONTH
MAX_COUNT = 1_000_000_000
MAX_LIMITS = 8
MAX_IPS = 1000
_MAX_IP_TEXT = 64  # "ffff:…/128" is 43 characters; anything longer is not an address
_CACHE_LIMIT = 10_000

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "mo": MONTH, "month": MONTH}
_WINDOW = re.compile(r"\s*(\d{1,12})?\s*(s|m|h|d|w|mo|month)\s*", re.ASCII)
_LIMIT = re.compile(
    r"\s*(\d{1,12})\s*/\s*(\d{0,12}\s*(?:s|m|h|d|w|mo|month))(?:\s+burst\s+(\d{1,12}))?\s*",
    re.ASCII,
)
_UNLIMITED = ("unlimited", "none")

LimitSpec = Union[str, "RateLimit", Mapping[str, Any], Iterable[Any], None]

_RL_SHAPE = (
    "a list of at most 8 [limit, window] or [limit, window, burst] lists of integers "
    "(limit and burst 1..1000000000, window 1..2592000 seconds)"
)
_IP_SHAPE = "a list of 1 to 1000 IP addresses or CIDR ranges"


# ── windows and limits, as users write them ────────────────────────────────────────────────


def parse_window(value: Any) -> int:
    """A window (``"1s"``, ``"5m"``, ``"h"``, ``"30d"``, ``"month"``, a timedelta, or int
    seconds) as whole seconds from 1 to 2592000 (30 days); ``ValueError`` otherwise."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise ValueError(f"a window is whole seconds, not {value!r}")
        value = int(seconds)
    if isinstance(value, str):
        match = _WINDOW.fullmatch(value)
        if not match:
            raise ValueError(
                f"cannot parse window {value!r}: use a whole number and a unit s, m, h, d, w "
                "or mo/month (30 days), e.g. '1s', '5m', '1d', 'month'"
            )
        value = int(match.group(1) or 1) * _UNITS[match.group(2)]
    if type(value) is not int:
        raise ValueError(f"a window is a duration like '1m' or int seconds, not {value!r}")
    if not 1 <= value <= MAX_WINDOW:
        raise ValueError(f"a window must be from 1 second to a month (2592000 s), not {value} s")
    return value


def _count(value: Any, what: str) -> int:
    if type(value) is not int or not 1 <= value <= MAX_COUNT:
        raise ValueError(f"{what} must be an int from 1 to {MAX_COUNT}, not {value!r}")
    return value


def window_text(seconds: int) -> str:
    """The shortest exact spelling of a window: ``1s``, ``5m``, ``1h``, ``30d``, ``2w``."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class RateLimit:
    """``limit`` requests (cost units) per ``window``, with bursts of up to ``burst`` (default
    ``limit``) at once: ``RateLimit(10, "1s")``, ``RateLimit(100_000, "month", burst=1000)``.

    Enforced with GCRA: a fresh key may send ``burst`` at once, then one every
    ``window / limit`` seconds; over any period ``P`` at most ``burst + limit * P / window``
    are admitted (docs/SPEC.md section 8).
    """

    limit: int
    window: int | str | timedelta = 1
    burst: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", _count(self.limit, "limit"))
        object.__setattr__(self, "window", parse_window(self.window))
        if self.burst is not None:
            object.__setattr__(self, "burst", _count(self.burst, "burst"))

    @property
    def seconds(self) -> int:
        """The window in seconds."""
        return cast(int, self.window)  # an int after __post_init__

    def wire(self) -> list[int]:
        """The claim form: ``[limit, window]``, or ``[limit, window, burst]``."""
        if self.burst is None or self.burst == self.limit:
            return [self.limit, self.seconds]
        return [self.limit, self.seconds, self.burst]

    def __str__(self) -> str:
        text = f"{self.limit}/{window_text(self.seconds)}"
        if self.burst is not None and self.burst != self.limit:
            text += f" burst {self.burst}"
        return text


def _one_limit(item: Any) -> RateLimit:
    if isinstance(item, RateLimit):
        return item
    if isinstance(item, str):
        match = _LIMIT.fullmatch(item)
        if not match:
            raise ValueError(
                f"cannot parse rate limit {item!r}: write '<count>/<window>[ burst <n>]', "
                "e.g. '10/s', '100/5m', '100000/month', '10/1s burst 20'"
            )
        burst = int(match.group(3)) if match.group(3) else None
        return RateLimit(int(match.group(1)), match.group(2), burst)
    if isinstance(item, Mapping):
        unknown = set(item) - {"limit", "window", "burst"}
        if unknown or "limit" not in item or "window" not in item:
            raise ValueError("a rate limit dict has the keys limit, window and optionally burst")
        return RateLimit(item["limit"], item["window"], item.get("burst"))
    raise ValueError(f"a rate limit is a string like '10/s' or a RateLimit, not {item!r}")


def parse_limits(value: Any) -> tuple[RateLimit, ...] | None:
    """What users write for ``rate_limit`` → the limits; ``()`` for ``"unlimited"``, None for
    None (no policy of its own). ``ValueError`` with the reason for anything else."""
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in _UNLIMITED:
            return ()
        items: list[Any] = [part for part in value.split(",")]
    elif isinstance(value, (RateLimit, Mapping)):
        items = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(
            f"rate_limit must be a string like '10/s', a RateLimit or a list of them, "
            f"not {type(value).__name__}"
        )
    if not items:
        raise ValueError("rate_limit needs at least one limit (or 'unlimited')")
    if len(items) > MAX_LIMITS:
        raise ValueError(f"at most {MAX_LIMITS} rate limits per key, not {len(items)}")
    return tuple(_one_limit(item) for item in items)


def _triples(limits: Iterable[RateLimit]) -> tuple[tuple[int, int, int], ...]:
    return tuple((r.limit, r.seconds, r.limit if r.burst is None else int(r.burst)) for r in limits)


# ── IP addresses ───────────────────────────────────────────────────────────────────────────

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(item: Any, what: str) -> Network:
    if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return item
    if isinstance(item, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return ipaddress.ip_network(item)
    if not isinstance(item, str) or len(item) > _MAX_IP_TEXT:
        raise ValueError(f"every entry of {what} is an IP address or CIDR range: {item!r}")
    try:
        return ipaddress.ip_network(item.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def parse_ips(value: Any, what: str = "allow_ips") -> list[str] | None:
    """An allow list as users write it (a list of addresses and CIDR ranges, or one string)
    → canonical strings; None for None. ``ValueError`` for an entry that is not an address or
    a range with host bits clear (``10.0.0.1/8`` is refused: write ``10.0.0.0/8``)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"{what} must be a list of IP addresses or CIDR ranges") from None
    if not 1 <= len(items) <= MAX_IPS:
        raise ValueError(f"{what} holds 1 to {MAX_IPS} addresses or ranges, not {len(items)}")
    return [_canonical(_network(item, what)) for item in items]


def _canonical(network: Network) -> str:
    """``10.0.0.0/8``; a single address without its ``/32`` or ``/128``."""
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _address(text: Any) -> tuple[int, int] | None:
    """``(version, integer)`` of a client address (IPv4-mapped IPv6 counts as IPv4, a zone is
    dropped), None when it is not one."""
    if type(text) is not str or not text or len(text) > _MAX_IP_TEXT:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.version, int(address)


_ADDRESSES: dict[str, tuple[int, int] | None] = {}


def parsed_address(text: Any) -> tuple[int, int] | None:
    """:func:`_address`, cached per address text (bounded)."""
    try:
        return _ADDRESSES[text]
    except (KeyError, TypeError):
        pass
    found = _address(text)
    if type(text) is str:
        if len(_ADDRESSES) >= _CACHE_LIMIT:
            _ADDRESSES.clear()
        _ADDRESSES[text] = found
    return found


def _merged(networks: Iterable[Network]) -> tuple[list[int], list[int]]:
    spans = sorted((int(n.network_address), int(n.broadcast_address)) for n in networks)
    starts: list[int] = []
    ends: list[int] = []
    for start, end in spans:
        if ends and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


class IPMatcher:
    """A set of addresses and ranges, merged into sorted spans once: ``allows(address)`` is a
    dictionary hit (the parsed address) and a binary search, whatever the number of ranges."""

    __slots__ = ("text", "_v4", "_v6")

    def __init__(self, entries: Iterable[str | Network]) -> None:
        networks = [_network(item, "the allow list") for item in entries]
        self.text = tuple(_canonical(n) for n in networks)
        self._v4 = _merged(n for n in networks if n.version == 4)
        self._v6 = _merged(n for n in networks if n.version == 6)

    def allows(self, address: str | None) -> bool:
        """Whether ``address`` (text; None: unknown) is in the set. Unknown is never in it."""
        found = parsed_address(address)
        if found is None:
            return False
        starts, ends = self._v4 if found[0] == 4 else self._v6
        i = bisect.bisect_right(starts, found[1]) - 1
        return i >= 0 and found[1] <= ends[i]

    __contains__ = allows

    def __repr__(self) -> str:
        return f"IPMatcher({len(self.text)} entries)"


class TrustedProxies(IPMatcher):
    """The proxies whose ``X-Forwarded-For`` / ``Forwarded`` headers are believed."""

    __slots__ = ()


def _forwarded_for(values: Iterable[str]) -> list[str]:
    """The ``for=`` addresses of ``Forwarded`` values (RFC 7239), in order."""
    found = []
    for value in values:
        for element in value.split(","):
            node = ""
            for pair in element.split(";"):
                name, _, text = pair.strip().partition("=")
                if name.strip().lower() == "for":
                    node = text.strip().strip('"')
            if node.startswith("["):  # "[2001:db8::1]:4711"
                node = node[1:].partition("]")[0]
            elif node.count(":") == 1:  # "192.0.2.43:47011"
                node = node.partition(":")[0]
            found.append(node)
    return found


def client_address(
    peer: str | None,
    forwarded_for: Iterable[str] = (),
    forwarded: Iterable[str] = (),
    trusted: TrustedProxies | None = None,
) -> str | None:
    """The client's address: the peer's, unless the peer is a trusted proxy. Then the chain it
    forwards (``Forwarded`` if present, else ``X-Forwarded-For``) is read from the right, and
    the first address that is not a trusted proxy is the client. An untrusted peer's headers
    are ignored, so a client cannot choose its own address."""
    if trusted is None or peer is None or not trusted.allows(peer):
        return peer
    forwarded = list(forwarded)
    if forwarded:
        chain = _forwarded_for(forwarded)
    else:
        chain = [part.strip() for value in forwarded_for for part in value.split(",")]
    chain = [hop for hop in chain if hop]
    client = peer
    for hop in reversed(chain):
        if parsed_address(hop) is None:
            return None  # an unparseable hop ("unknown", junk): the client is unknown
        client = hop
        if not trusted.allows(hop):
            return hop
    return client


# ── the policy of a verified key ───────────────────────────────────────────────────────────


def _invalid(name: str, shape: str) -> ApikeeError:
    return ApikeeError(ErrorCode.INVALID_CLAIMS, MSG_CLAIM_TYPE.format(name, shape))


def limits_from_claim(value: Any) -> tuple[tuple[int, int, int], ...]:
    """The ``rl`` claim → ``(limit, window, burst)`` triples; ``INVALID_CLAIMS`` otherwise."""
    if type(value) is not list or len(value) > MAX_LIMITS:
        raise _invalid(RATE_CLAIM, _RL_SHAPE)
    triples = []
    for item in value:
        if type(item) is not list or len(item) not in (2, 3):
            raise _invalid(RATE_CLAIM, _RL_SHAPE)
        for number in item:
            if type(number) is not int:
                raise _invalid(RATE_CLAIM, _RL_SHAPE)
        limit, window = item[0], item[1]
        burst = item[2] if len(item) == 3 else limit
        if not (1 <= limit <= MAX_COUNT and 1 <= window <= MAX_WINDOW and 1 <= burst <= MAX_COUNT):
            raise _invalid(RATE_CLAIM, _RL_SHAPE)
        triples.append((limit, window, burst))
    return tuple(triples)


_MATCHERS: dict[str, IPMatcher] = {}
_MATCHERS_LOCK = threading.Lock()


def ips_from_claim(value: Any) -> IPMatcher:
    """The ``ip`` claim → its matcher (built once per distinct list, cached by its text);
    ``INVALID_CLAIMS`` otherwise."""
    if type(value) is not list or not 1 <= len(value) <= MAX_IPS:
        raise _invalid(IP_CLAIM, _IP_SHAPE)
    for item in value:
        if type(item) is not str or len(item) > _MAX_IP_TEXT:
            raise _invalid(IP_CLAIM, _IP_SHAPE)
    text = "\n".join(value)
    found = _MATCHERS.get(text)
    if found is None:
        try:
            found = IPMatcher(value)
        except ValueError:
            raise _invalid(IP_CLAIM, _IP_SHAPE) from None
        with _MATCHERS_LOCK:
            if len(_MATCHERS) >= _CACHE_LIMIT:
                _MATCHERS.clear()
            found = _MATCHERS.setdefault(text, found)
    return found


class Entry:
    """A verified key's resolved policy: its bucket (the key id, else its fingerprint), its
    rate-limit plan (None: unlimited) and its allow list (None: any address)."""

    __slots__ = ("bucket", "plan", "ips")

    def __init__(self, bucket: str, plan: Any, ips: IPMatcher | None) -> None:
        self.bucket = bucket
        self.plan = plan
        self.ips = ips

    def __repr__(self) -> str:
        return f"Entry(bucket={self.bucket!r}, plan={self.plan!r}, ips={self.ips!r})"


def _names(triples: tuple[tuple[int, int, int], ...]) -> list[str]:
    names: list[str] = []
    for limit, window, _burst in triples:
        name = f"{limit}/{window_text(window)}"
        while name in names:
            name += "+"
        names.append(name)
    return names


def policy_header(triples: tuple[tuple[int, int, int], ...]) -> str:
    """The ``RateLimit-Policy`` value (draft-ietf-httpapi-ratelimit-headers):
    ``"10/1s";q=10;w=1, "100000/30d";q=100000;w=2592000``."""
    return ", ".join(
        f'"{name}";q={limit};w={window}'
        for name, (limit, window, _b) in zip(_names(triples), triples, strict=True)
    )


class PolicyTable:
    """The policies of one :class:`~apikee.Apikee`: the instance default, the per-tenant
    overrides, and the resolved entry of every key seen (bounded), by ``claims.raw_key``.

    Precedence for the limits: the tenant's override (it replaces the key's own limits and the
    default), else the key's ``rl`` claim, else the default. The allow list is the key's.
    """

    def __init__(
        self,
        limiter: Any,
        default: tuple[RateLimit, ...] | None = None,
        tenants: Mapping[str, tuple[RateLimit, ...] | None] | None = None,
    ) -> None:
        self._module = limiter
        self._plans: dict[tuple[tuple[int, int, int], ...], Any] = {}
        self.default = None if default is None else _triples(default)
        self.tenants = {
            tenant: (() if limits is None else _triples(limits))
            for tenant, limits in (tenants or {}).items()
        }
        self.entries: dict[str, Entry | None] = {}
        self._lock = threading.Lock()

    def plan(self, triples: tuple[tuple[int, int, int], ...]) -> Any:
        """The one ``Plan`` of these limits (None for none), shared by every key that has them
        (a bucket's state belongs to its plan)."""
        if not triples:
            return None
        found = self._plans.get(triples)
        if found is None:
            built = self._module.Plan(triples, _names(triples), policy_header(triples))
            with self._lock:
                found = self._plans.setdefault(triples, built)
        return found

    def resolve(self, claims: Any) -> Entry | None:
        """The entry of verified ``claims`` (cached); ``INVALID_CLAIMS`` for a malformed
        ``rl`` or ``ip`` claim (docs/SPEC.md section 8). Never cached when it raises."""
        raw_key = claims.raw_key
        wire = claims.to_dict()
        ips = ips_from_claim(wire[IP_CLAIM]) if IP_CLAIM in wire else None
        triples = limits_from_claim(wire[RATE_CLAIM]) if RATE_CLAIM in wire else None
        tenant = claims.tenant
        if tenant in self.tenants:
            triples = self.tenants[tenant]
        elif triples is None:
            triples = self.default
        plan = self.plan(triples) if triples else None
        entry = None
        if plan is not None or ips is not None:
            bucket = claims.id
            if not bucket:
                from ._keyutil import hash_key

                bucket = "sha256:" + hash_key(raw_key)
            entry = Entry(bucket, plan, ips)
        entries = self.entries
        if len(entries) >= _CACHE_LIMIT:
            entries.clear()
        entries[raw_key] = entry
        return entry


# ── HTTP headers ───────────────────────────────────────────────────────────────────────────


def rate_headers(decision: Any) -> list[tuple[str, str]]:
    """``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers-09/-10
    structured fields), and ``Retry-After`` (whole seconds, at least 1) when refused."""
    headers = [
        ("ratelimit-policy", decision.policy),
        (
            "ratelimit",
            f'"{decision.name}";r={decision.remaining};t={math.ceil(decision.reset - 1e-6)}',
        ),
    ]
    if not decision.allowed:
        headers.append(("retry-after", str(max(1, math.ceil(decision.retry_after - 1e-6)))))
    return headers


def claim_summary(wire: Mapping[str, Any]) -> dict[str, Any]:
    """A readable view of a key's policy claims for the CLI (``rate_limit``, ``allow_ips``);
    the raw claim with ``error`` when malformed."""
    summary: dict[str, Any] = {}
    if RATE_CLAIM in wire:
        try:
            triples = limits_from_claim(wire[RATE_CLAIM])
            summary["rate_limit"] = [
                str(RateLimit(n, w, None if b == n else b)) for n, w, b in triples
            ] or ["unlimited"]
        except ApikeeError as exc:
            summary["rate_limit"] = {"error": exc.message, "claim": json.dumps(wire[RATE_CLAIM])}
    if IP_CLAIM in wire:
        try:
            summary["allow_ips"] = list(ips_from_claim(wire[IP_CLAIM]).text)
        except ApikeeError as exc:
            summary["allow_ips"] = {"error": exc.message}
    return summary
