"""The in-process rate limiter (GCRA), pure Python: the reference twin of ``_limiter_c.pyx``.

Both twins define the same names with the same docstrings and give identical decisions
(``tests/test_limits.py`` compares them). The algorithm is GCRA (the generic cell rate
algorithm, a token bucket kept as one number): each limit ``L`` per ``W`` seconds with burst
``B`` has an emission interval ``T = W / L`` and a tolerance ``B * T``; a bucket keeps its
*theoretical arrival time* ``tat``. A request of cost ``c`` at ``now`` is admitted when
``max(tat, now) + c * T - B * T <= now``, and then ``tat`` becomes ``max(tat, now) + c * T``.
A bucket whose ``tat`` is in the past is exactly a fresh bucket, so idle state can be dropped
without changing any decision (docs/SPEC.md section 8, "Rate limits"). The state is kept as a
backlog ``tat - stamp`` and its ``stamp`` (see :func:`decide`): small numbers, exact sums.

A request is admitted only if every limit of the plan admits it; then all of them are charged,
else none is.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable, Sequence

from ._errors import ApikeeError

__all__ = ["Decision", "EPSILON", "Gate", "LocalLimiter", "MAX_LIMITS", "Plan", "decide"]

_MISS = object()

#: The most limits one plan (one key's policy) may hold.
MAX_LIMITS = 8
#: Seconds of rounding tolerance in every comparison of times (doubles).
EPSILON = 1e-6


class Plan:
    """The compiled limits of one policy: ``Plan([(limit, window, burst), ...], names, header)``.

    ``names`` are the quota policy names of the ``RateLimit`` header (one per limit) and
    ``header`` the ``RateLimit-Policy`` value; both are precomputed by ``apikee._policy``.
    """

    __slots__ = ("limits", "names", "header", "_intervals", "_tolerances")

    limits: tuple[tuple[int, int, int], ...]
    names: tuple[str, ...]
    header: str

    def __init__(
        self, limits: Sequence[tuple[int, int, int]], names: Sequence[str], header: str
    ) -> None:
        checked = tuple((int(n), int(w), int(b)) for n, w, b in limits)
        if not 1 <= len(checked) <= MAX_LIMITS or len(names) != len(checked):
            raise ValueError(f"a plan holds 1 to {MAX_LIMITS} limits, each with a name")
        for n, w, b in checked:
            if n < 1 or w < 1 or b < 1:
                raise ValueError("limit, window and burst must be positive")
        self.limits = checked
        self.names = tuple(str(name) for name in names)
        self.header = str(header)
        self._intervals = tuple(w / n for n, w, _ in checked)
        self._tolerances = tuple(b * (w / n) for n, w, b in checked)

    def __repr__(self) -> str:
        return f"Plan({list(self.limits)!r})"


class Decision:
    """What the limiter decided for one request.

    ``allowed``; ``limit``, ``window`` (seconds), ``burst`` and ``name`` of the limit reported
    (the one that refused, else the one closest to refusing); ``remaining`` (requests of cost
    1 still admissible now under it); ``reset`` (seconds until it is fully replenished);
    ``retry_after`` (seconds until this request could be admitted; 0 when allowed); ``policy``
    (the ``RateLimit-Policy`` header value of the whole plan).
    """

    __slots__ = (
        "allowed",
        "limit",
        "remaining",
        "reset",
        "retry_after",
        "window",
        "burst",
        "name",
        "policy",
    )

    allowed: bool
    limit: int
    remaining: int
    reset: float
    retry_after: float
    window: int
    burst: int
    name: str
    policy: str

    def __init__(
        self,
        allowed: bool,
        limit: int,
        remaining: int,
        reset: float,
        retry_after: float,
        window: int,
        burst: int,
        name: str,
        policy: str,
    ) -> None:
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
        self.retry_after = retry_after
        self.window = window
        self.burst = burst
        self.name = name
        self.policy = policy

    def __repr__(self) -> str:
        return (
            f"Decision(allowed={self.allowed}, limit={self.limit}, remaining={self.remaining}, "
            f"reset={self.reset:.3f}, retry_after={self.retry_after:.3f}, window={self.window})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in Decision.__slots__)

    __hash__ = None  # type: ignore[assignment]


def decide(
    plan: Plan, levels: Sequence[float], stamp: float, cost: int, now: float
) -> tuple[Decision, list[float]]:
    """The decision for a request of ``cost`` at ``now``, given the buckets' state: for each
    limit its backlog ``levels[i]`` (``tat - stamp``: seconds of emission intervals owed) as of
    the instant ``stamp``. Returns the decision and the levels as of ``now`` (to store with
    ``stamp = now`` when admitted; when refused the state does not change).

    The one GCRA step of the twins, SQLite and the decisions read from a Redis reply, so all
    of them decide alike. Keeping the backlog relative to its stamp keeps every number small
    (``now - stamp`` is exact in a double), so the ``B``-th of ``B`` simultaneous requests is
    admitted exactly; ``EPSILON`` (1 µs) absorbs what rounding remains.
    """
    intervals = plan._intervals
    tolerances = plan._tolerances
    limits = plan.limits
    elapsed = now - stamp
    if elapsed < 0:
        elapsed = 0.0
    allowed = True
    worst = -1
    worst_wait = -1.0
    closest = 0
    closest_left = math.inf
    backlogs = []
    news = []
    for i in range(len(intervals)):
        backlog = levels[i] - elapsed
        if backlog < 0:
            backlog = 0.0
        backlogs.append(backlog)
        new = backlog + cost * intervals[i]
        news.append(new)
        slack = tolerances[i] - new
        if slack < -EPSILON or cost > limits[i][2]:
            allowed = False
            wait = -slack if cost <= limits[i][2] else float(limits[i][1])
            if wait > worst_wait:
                worst, worst_wait = i, wait
        elif slack / tolerances[i] < closest_left:
            closest, closest_left = i, slack / tolerances[i]
    i = closest if allowed else worst
    n, w, b = limits[i]
    reset = news[i] if allowed else backlogs[i]
    remaining = int((tolerances[i] - reset + EPSILON) / intervals[i])
    remaining = 0 if remaining < 0 else (b if remaining > b else remaining)
    decision = Decision(
        allowed,
        n,
        remaining,
        reset,
        0.0 if allowed else worst_wait,
        w,
        b,
        plan.names[i],
        plan.header,
    )
    return decision, news


class LocalLimiter:
    """The buckets of one process: ``check(bucket, plan, cost=1, now=None) -> Decision``.

    Thread-safe: each read-modify-write of a bucket is atomic. Memory is bounded: past
    ``max_keys`` buckets, idle ones (whose state equals a fresh bucket's) are dropped, which
    changes no decision; if more than 90% are still busy, the oldest are dropped too (those
    keys then start afresh: the only way this limiter can admit more than a limit allows).
    """

    __slots__ = ("_cells", "_lock", "max_keys")

    def __init__(self, max_keys: int = 100_000) -> None:
        if type(max_keys) is not int or not 1 <= max_keys <= 2**31 - 1:
            raise ValueError("max_keys must be an int from 1 to 2**31 - 1")
        self.max_keys = max_keys
        self._cells: dict[str, list[Any]] = {}
        self._lock = threading.Lock()

    def check(self, bucket: str, plan: Plan, cost: int = 1, now: float | None = None) -> Decision:
        """Decide (and count, if admitted) one request of ``cost`` against ``plan``'s limits
        for ``bucket`` (the key's id); ``now`` in unix seconds, default the wall clock."""
        if type(bucket) is not str or type(plan) is not Plan:
            raise TypeError("check() takes a str bucket and a Plan")
        if type(cost) is not int or not 0 <= cost <= 1_000_000_000:
            raise ValueError("cost must be an int from 0 to 1000000000")
        t = time.time() if now is None else float(now)
        with self._lock:
            cells = self._cells
            cell = cells.get(bucket)
            if cell is None or cell[0] is not plan:
                if cell is None and len(cells) >= self.max_keys:
                    self._sweep(t)
                cell = [plan, [0.0] * len(plan.limits), t]
                cells[bucket] = cell
            decision, news = decide(plan, cell[1], cell[2], cost, t)
            if decision.allowed:
                cell[1] = news
                cell[2] = t
        return decision

    def _sweep(self, now: float) -> None:
        cells = self._cells
        for bucket in [b for b, cell in cells.items() if max(cell[1]) <= now - cell[2]]:
            del cells[bucket]
        keep = self.max_keys * 9 // 10
        if len(cells) > keep:
            for bucket in list(cells)[: len(cells) - keep]:
                del cells[bucket]

    def forget(self, bucket: str) -> None:
        """Drop one bucket's state (it starts afresh)."""
        with self._lock:
            self._cells.pop(bucket, None)

    def clear(self) -> None:
        """Drop every bucket."""
        with self._lock:
            self._cells.clear()

    def __len__(self) -> int:
        return len(self._cells)

    def __repr__(self) -> str:
        return f"LocalLimiter(buckets={len(self._cells)}, max_keys={self.max_keys})"


class Gate:
    """``verify`` and the key's policy: ``Gate(verify, entries, resolve, limiter)``.

    ``entries`` maps a verified key (``claims.raw_key``) to its resolved policy (or None: no
    policy); ``resolve(claims)`` fills it on a miss and raises ``INVALID_CLAIMS`` for a
    malformed policy claim (``apikee._policy``); ``limiter`` counts (a ``LocalLimiter`` or a
    shared one). ``Apikee.check_rate_limit`` is this gate's ``limit``; ``Apikee.verify`` is the
    verifier's (usage off) or this gate's ``verify_counted`` (usage on).
    """

    __slots__ = (
        "_verify",
        "_entries",
        "_resolve",
        "_limiter",
        "_codes",
        "_tenants",
        "_seen",
        "_cap",
        "_rejected",
        "_lock",
        "_valid",
    )

    def __init__(
        self,
        verify: Callable[..., Any],
        entries: dict[str, Any],
        resolve: Callable[[Any], Any],
        limiter: Any,
    ) -> None:
        if type(entries) is not dict:
            raise TypeError("entries must be a dict")
        self._verify = verify
        self._entries = entries
        self._resolve = resolve
        self._limiter = limiter

    def verify(
        self, key: Any, now: float | None = None, *, scopes: Any = None, any_of: bool = False
    ) -> Any:
        """The verifier's ``verify`` (its last check: the key's policy, docs/SPEC.md section 8)."""
        if scopes is None and not any_of:
            claims = self._verify(key, now)
        else:
            claims = self._verify(key, now, scopes=scopes, any_of=any_of)
        return claims

    # ── usage counting (apikee._usage; only when Apikee(usage=...) is on) ──────────────────

    def enable_usage(
        self,
        codes: dict[str, int],
        tenants: dict[str | None, dict[str, int]] | None,
        cap: int,
        rejected: Callable[[Any, Any], None],
    ) -> None:
        """Count every :meth:`verify_counted` in ``codes`` (code -> int) and, unless ``tenants``
        is None, per tenant (tenant -> {code: int}: at most ``cap`` tenants, the rest in the
        ``None`` bucket); ``rejected(error, key)`` is called for each failure, which it counts."""
        if type(codes) is not dict or (tenants is not None and type(tenants) is not dict):
            raise TypeError("codes and tenants must be dicts")
        self._codes = codes
        self._tenants = tenants
        self._cap = cap
        self._rejected = rejected
        self._seen: dict[Any, list[Any]] = {}
        self._valid = 0
        # Pure Python: an increment is several bytecodes, so a lock keeps counts exact across
        # threads (a few tens of ns, next to microseconds of pure verification).
        self._lock = threading.Lock()

    def take_seen(self) -> dict[str, tuple[Any, int, float]]:
        """The keys verified since the last call: ``{key id: (tenant, count, last unix
        time)}`` (a new dict starts)."""
        with self._lock:
            seen, self._seen = self._seen, {}
        merged: dict[str, tuple[Any, int, float]] = {}
        for claims, uses, last in seen.values():
            kid = claims.id
            if not kid:
                continue
            before = merged.get(kid)
            if before is None:
                merged[kid] = (claims.tenant, uses, last)
            else:
                merged[kid] = (before[0], before[1] + uses, max(before[2], last))
        return merged

    @property
    def valid(self) -> int:
        """How many verifications were counted VALID (minus those refused afterwards)."""
        return self._valid

    def _tenant_add(self, tenant: str | None, code: str, n: int) -> None:
        tenants = self._tenants
        assert tenants is not None
        found = tenants.get(tenant)
        if found is None:
            if len(tenants) >= self._cap:
                tenant = None
                found = tenants.get(None)
            if found is None:
                found = tenants[tenant] = {}
        found[code] = found.get(code, 0) + n

    def count(self, code: str, tenant: str | None = None, demote: bool = False) -> None:
        """Count one outcome ``code`` (and for ``tenant``, unless None); ``demote``: the request
        was counted VALID by verify and then refused (rate limit, allow list): move it."""
        with self._lock:
            codes = self._codes
            codes[code] = codes.get(code, 0) + 1
            if demote:
                self._valid -= 1
            if self._tenants is not None and tenant is not None:
                self._tenant_add(tenant, code, 1)
                if demote:
                    self._tenant_add(tenant, "VALID", -1)

    def verify_counted(
        self, key: Any, now: float | None = None, *, scopes: Any = None, any_of: bool = False
    ) -> Any:
        """:meth:`verify`, counted."""
        try:
            if scopes is None and not any_of:
                claims = self._verify(key, now)
            else:
                claims = self._verify(key, now, scopes=scopes, any_of=any_of)
        except ApikeeError as error:
            self._rejected(error, key)
            raise
        at = time.time() if now is None else now
        with self._lock:
            self._valid += 1
            if self._tenants is not None:
                self._tenant_add(claims.tenant, "VALID", 1)
            raw = claims.raw_key  # its hash is cached (see the native twin)
            item = self._seen.get(raw)
            if item is None:
                self._seen[raw] = [claims, 1, at]
            else:
                item[1] += 1
                item[2] = at
        return claims

    def entry(self, claims: Any) -> Any:
        """The resolved policy of verified ``claims`` (None when none applies)."""
        found = self._entries.get(claims.raw_key, _MISS)
        if found is _MISS:
            return self._resolve(claims)
        return found

    def limit(self, claims: Any, *, cost: int = 1, now: float | None = None) -> Any:
        """Count one request of ``cost`` against the key's limits: its ``Decision``, or None
        when no limit applies."""
        found = self._entries.get(claims.raw_key, _MISS)
        if found is _MISS:
            found = self._resolve(claims)
        if found is None or found.plan is None:
            return None
        return self._limiter.check(found.bucket, found.plan, cost, now)
