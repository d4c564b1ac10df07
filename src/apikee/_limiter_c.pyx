# cython: freethreading_compatible = False
"""The in-process rate limiter (GCRA), compiled: the twin of ``_limiter_py.py``.

Same names, docstrings and decisions as the pure module (``tests/test_limits.py`` compares
them). Thread safety: a bucket's read-modify-write runs no Python code and allocates nothing
(the GIL is held throughout), so it is atomic; the decision object is built afterwards.
"""

from libc.math cimport INFINITY
from libc.stdint cimport int64_t
from cpython.dict cimport PyDict_GetItem

import time as _time

from ._errors import ApikeeError as _ApikeeError

cdef extern from "_clock.h":
    int apikee_wall_clock(double *out) nogil

#: The most limits one plan (one key's policy) may hold.
MAX_LIMITS = 8
#: Seconds of rounding tolerance in every comparison of times (doubles).
EPSILON = 1e-6

DEF NLIMITS = 8
cdef double EPS = 1e-6
cdef object _MISS = object()

__all__ = ["Decision", "EPSILON", "Gate", "LocalLimiter", "MAX_LIMITS", "Plan", "decide"]


cdef class Plan:
    """The compiled limits of one policy: ``Plan([(limit, window, burst), ...], names, header)``.

    ``names`` are the quota policy names of the ``RateLimit`` header (one per limit) and
    ``header`` the ``RateLimit-Policy`` value; both are precomputed by ``apikee._policy``.
    """

    cdef readonly tuple limits
    cdef readonly tuple names
    cdef readonly str header
    cdef int count
    cdef double interval[NLIMITS]
    cdef double tolerance[NLIMITS]
    cdef int64_t limit[NLIMITS]
    cdef int64_t window[NLIMITS]
    cdef int64_t burst[NLIMITS]

    def __init__(self, limits, names, header):
        checked = tuple((int(n), int(w), int(b)) for n, w, b in limits)
        if not 1 <= len(checked) <= NLIMITS or len(names) != len(checked):
            raise ValueError(f"a plan holds 1 to {NLIMITS} limits, each with a name")
        for n, w, b in checked:
            if n < 1 or w < 1 or b < 1:
                raise ValueError("limit, window and burst must be positive")
        self.limits = checked
        self.names = tuple(str(name) for name in names)
        self.header = str(header)
        self.count = len(checked)
        cdef int i
        for i in range(self.count):
            n, w, b = checked[i]
            self.limit[i] = n
            self.window[i] = w
            self.burst[i] = b
            self.interval[i] = (<double>w) / (<double>n)
            self.tolerance[i] = (<double>b) * self.interval[i]

    def __repr__(self):
        return f"Plan({list(self.limits)!r})"


cdef class Decision:
    """What the limiter decided for one request.

    ``allowed``; ``limit``, ``window`` (seconds), ``burst`` and ``name`` of the limit reported
    (the one that refused, else the one closest to refusing); ``remaining`` (requests of cost
    1 still admissible now under it); ``reset`` (seconds until it is fully replenished);
    ``retry_after`` (seconds until this request could be admitted; 0 when allowed); ``policy``
    (the ``RateLimit-Policy`` header value of the whole plan).
    """

    cdef readonly bint allowed
    cdef readonly object limit
    cdef readonly object remaining
    cdef readonly double reset
    cdef readonly double retry_after
    cdef readonly object window
    cdef readonly object burst
    cdef readonly str name
    cdef readonly str policy

    def __init__(self, allowed, limit, remaining, reset, retry_after, window, burst, name, policy):
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
        self.retry_after = retry_after
        self.window = window
        self.burst = burst
        self.name = name
        self.policy = policy

    def __repr__(self):
        return (
            f"Decision(allowed={self.allowed}, limit={self.limit}, remaining={self.remaining}, "
            f"reset={self.reset:.3f}, retry_after={self.retry_after:.3f}, window={self.window})"
        )

    def __eq__(self, other):
        if not isinstance(other, Decision):
            return NotImplemented
        cdef Decision o = <Decision>other
        return (
            self.allowed == o.allowed and self.limit == o.limit
            and self.remaining == o.remaining and self.reset == o.reset
            and self.retry_after == o.retry_after and self.window == o.window
            and self.burst == o.burst and self.name == o.name and self.policy == o.policy
        )

    __hash__ = None


cdef class _Cell:
    cdef Plan plan
    cdef double stamp
    cdef double level[NLIMITS]


cdef struct _Outcome:
    bint allowed
    int index
    double reset
    double retry_after
    int64_t remaining


cdef _Outcome _decide(
    Plan plan, double *levels, double stamp, int64_t cost, double now, double *news
) noexcept:
    # The GCRA step (see the pure twin's ``decide``): pure C, no allocation, no Python code.
    cdef _Outcome out
    cdef int i, worst = -1, closest = 0
    cdef double backlog, new, slack, wait, worst_wait = -1.0, closest_left = INFINITY
    cdef double backlogs[NLIMITS]
    cdef double elapsed = now - stamp
    cdef bint allowed = True
    if elapsed < 0:
        elapsed = 0.0
    for i in range(plan.count):
        backlog = levels[i] - elapsed
        if backlog < 0:
            backlog = 0.0
        backlogs[i] = backlog
        new = backlog + cost * plan.interval[i]
        news[i] = new
        slack = plan.tolerance[i] - new
        if slack < -EPS or cost > plan.burst[i]:
            allowed = False
            if cost <= plan.burst[i]:
                wait = -slack
            else:
                wait = <double>plan.window[i]
            if wait > worst_wait:
                worst = i
                worst_wait = wait
        elif slack / plan.tolerance[i] < closest_left:
            closest = i
            closest_left = slack / plan.tolerance[i]
    i = closest if allowed else worst
    out.reset = news[i] if allowed else backlogs[i]
    out.retry_after = 0.0 if allowed else worst_wait
    cdef double r = (plan.tolerance[i] - out.reset + EPS) / plan.interval[i]
    cdef int64_t remaining
    if r < 0:
        remaining = 0
    elif r > <double>plan.burst[i]:
        remaining = plan.burst[i]
    else:
        remaining = <int64_t>r
    out.allowed = allowed
    out.index = i
    out.remaining = remaining
    return out


cdef Decision _decision(Plan plan, _Outcome out):
    cdef Decision d = Decision.__new__(Decision)
    cdef int i = out.index
    d.allowed = out.allowed
    d.limit = plan.limit[i]
    d.remaining = out.remaining
    d.reset = out.reset
    d.retry_after = out.retry_after
    d.window = plan.window[i]
    d.burst = plan.burst[i]
    d.name = plan.names[i]
    d.policy = plan.header
    return d


def decide(Plan plan, levels, double stamp, cost, double now):
    """The decision for a request of ``cost`` at ``now``, given the buckets' state: for each
    limit its backlog ``levels[i]`` (``tat - stamp``: seconds of emission intervals owed) as of
    the instant ``stamp``. Returns the decision and the levels as of ``now`` (to store with
    ``stamp = now`` when admitted; when refused the state does not change).

    The one GCRA step of the twins, SQLite and the decisions read from a Redis reply, so all
    of them decide alike. Keeping the backlog relative to its stamp keeps every number small
    (``now - stamp`` is exact in a double), so the ``B``-th of ``B`` simultaneous requests is
    admitted exactly; ``EPSILON`` (1 µs) absorbs what rounding remains.
    """
    cdef double old[NLIMITS]
    cdef double news[NLIMITS]
    cdef int i
    if len(levels) != plan.count:
        raise ValueError("one level per limit")
    for i in range(plan.count):
        old[i] = levels[i]
    out = _decide(plan, old, stamp, cost, now, news)
    return _decision(plan, out), [news[i] for i in range(plan.count)]


cdef double _now(object now) except? -1.0:
    cdef double t
    if now is None:
        if apikee_wall_clock(&t) != 0:
            t = _time.time()
        return t
    return float(now)


cdef class LocalLimiter:
    """The buckets of one process: ``check(bucket, plan, cost=1, now=None) -> Decision``.

    Thread-safe: each read-modify-write of a bucket is atomic. Memory is bounded: past
    ``max_keys`` buckets, idle ones (whose state equals a fresh bucket's) are dropped, which
    changes no decision; if more than 90% are still busy, the oldest are dropped too (those
    keys then start afresh: the only way this limiter can admit more than a limit allows).
    """

    cdef dict _cells
    cdef readonly int max_keys

    def __init__(self, max_keys=100_000):
        if type(max_keys) is not int or not 1 <= max_keys <= 2**31 - 1:
            raise ValueError("max_keys must be an int from 1 to 2**31 - 1")
        self.max_keys = max_keys
        self._cells = {}

    def check(self, bucket, plan, cost=1, now=None):
        """Decide (and count, if admitted) one request of ``cost`` against ``plan``'s limits
        for ``bucket`` (the key's id); ``now`` in unix seconds, default the wall clock."""
        if type(bucket) is not str or type(plan) is not Plan:
            raise TypeError("check() takes a str bucket and a Plan")
        if type(cost) is not int or not 0 <= cost <= 1_000_000_000:
            raise ValueError("cost must be an int from 0 to 1000000000")
        return self._check(<str>bucket, <Plan>plan, <int64_t>cost, _now(now))

    cdef Decision _check(self, str bucket, Plan p, int64_t cost, double t):
        cdef double news[NLIMITS]
        cdef _Cell cell
        cdef int i
        found = self._cells.get(bucket)
        if found is None or (<_Cell>found).plan is not p:
            if found is None and len(self._cells) >= self.max_keys:
                self._sweep(t)
            cell = _Cell.__new__(_Cell)
            cell.plan = p
            cell.stamp = t
            for i in range(p.count):
                cell.level[i] = 0.0
            # setdefault: if another thread published a cell meanwhile (an allocation above
            # may have run a finalizer, and so switched threads), use that one.
            found = self._cells.setdefault(bucket, cell)
            if (<_Cell>found).plan is not p:
                self._cells[bucket] = cell
                found = cell
        cell = <_Cell>found
        # From here to the commit: C only (no allocation, no Python code), so atomic.
        out = _decide(p, cell.level, cell.stamp, cost, t, news)
        if out.allowed:
            cell.stamp = t
            for i in range(p.count):
                cell.level[i] = news[i]
        return _decision(p, out)

    cdef void _sweep(self, double now):
        cdef _Cell cell
        cdef int i
        cdef double most
        idle = []
        for bucket, value in self._cells.items():
            cell = <_Cell>value
            most = 0.0
            for i in range(cell.plan.count):
                if cell.level[i] > most:
                    most = cell.level[i]
            if most <= now - cell.stamp:
                idle.append(bucket)
        for bucket in idle:
            del self._cells[bucket]
        keep = self.max_keys * 9 // 10
        if len(self._cells) > keep:
            for bucket in list(self._cells)[: len(self._cells) - keep]:
                del self._cells[bucket]

    def forget(self, bucket):
        """Drop one bucket's state (it starts afresh)."""
        self._cells.pop(bucket, None)

    def clear(self):
        """Drop every bucket."""
        self._cells.clear()

    def __len__(self):
        return len(self._cells)

    def __repr__(self):
        return f"LocalLimiter(buckets={len(self._cells)}, max_keys={self.max_keys})"


cdef class SeenKey:
    """One key id verified since the last flush: its claims, how many times, the last time."""

    cdef readonly object claims
    cdef readonly long long uses
    cdef readonly double last

    def __init__(self, claims, double last):
        self.claims = claims
        self.uses = 1
        self.last = last


cdef class Gate:
    """``verify`` and the key's policy: ``Gate(verify, entries, resolve, limiter)``.

    ``entries`` maps a verified key (``claims.raw_key``) to its resolved policy (or None: no
    policy); ``resolve(claims)`` fills it on a miss and raises ``INVALID_CLAIMS`` for a
    malformed policy claim (``apikee._policy``); ``limiter`` counts (a ``LocalLimiter`` or a
    shared one). ``Apikee.check_rate_limit`` is this gate's ``limit``; ``Apikee.verify`` is the
    verifier's (usage off) or this gate's ``verify_counted`` (usage on).
    """

    cdef object _verify
    cdef dict _entries
    cdef object _resolve
    cdef object _limiter
    cdef LocalLimiter _local
    cdef dict _codes
    cdef dict _tenants
    cdef dict _seen
    cdef Py_ssize_t _cap
    cdef object _rejected
    cdef long long _valid

    def __init__(self, verify, entries, resolve, limiter):
        if type(entries) is not dict:
            raise TypeError("entries must be a dict")
        self._verify = verify
        self._entries = entries
        self._resolve = resolve
        self._limiter = limiter
        self._local = limiter if type(limiter) is LocalLimiter else None

    def verify(self, key, now=None, *, scopes=None, any_of=False):
        """The verifier's ``verify`` (its last check: the key's policy, docs/SPEC.md section 8)."""
        if scopes is None and not any_of:
            claims = self._verify(key, now)
        else:
            claims = self._verify(key, now, scopes=scopes, any_of=any_of)
        return claims

    # ── usage counting (apikee._usage; only when Apikee(usage=...) is on) ──────────────────

    def enable_usage(self, codes, tenants, cap, rejected):
        """Count every :meth:`verify_counted` in ``codes`` (code -> int) and, unless ``tenants``
        is None, per tenant (tenant -> {code: int}: at most ``cap`` tenants, the rest in the
        ``None`` bucket); ``rejected(error, key)`` is called for each failure, which it counts."""
        if type(codes) is not dict or (tenants is not None and type(tenants) is not dict):
            raise TypeError("codes and tenants must be dicts")
        self._codes = codes
        self._tenants = tenants
        self._cap = cap
        self._rejected = rejected
        self._seen = {}

    def take_seen(self):
        """The keys verified since the last call: ``{key id: (tenant, count, last unix
        time)}`` (a new dict starts; the swap is atomic under the GIL)."""
        seen = self._seen
        self._seen = {}
        cdef SeenKey item
        cdef dict merged = {}
        for item in seen.values():
            kid = item.claims.id
            if not kid:
                continue
            before = merged.get(kid)
            if before is None:
                merged[kid] = (item.claims.tenant, item.uses, item.last)
            else:
                merged[kid] = (before[0], before[1] + item.uses, max(before[2], item.last))
        return merged

    @property
    def valid(self):
        """How many verifications were counted VALID (minus those refused afterwards)."""
        return self._valid

    cdef inline void _tenant_add(self, object tenant, str code, long n):
        cdef dict tenants = self._tenants
        found = tenants.get(tenant)
        if found is None:
            if len(tenants) >= self._cap:
                tenant = None
                found = tenants.get(None)
            if found is None:
                found = {}
                tenants[tenant] = found
        (<dict>found)[code] = (<dict>found).get(code, 0) + n

    def count(self, str code, tenant=None, bint demote=False):
        """Count one outcome ``code`` (and for ``tenant``, unless None); ``demote``: the request
        was counted VALID by verify and then refused (rate limit, allow list): move it."""
        cdef dict codes = self._codes
        codes[code] = codes.get(code, 0) + 1
        if demote:
            self._valid -= 1
        if self._tenants is not None and tenant is not None:
            self._tenant_add(tenant, code, 1)
            if demote:
                self._tenant_add(tenant, "VALID", -1)

    def verify_counted(self, key, now=None, *, scopes=None, any_of=False):
        """:meth:`verify`, counted: no lock, no Python frame (the GIL is held throughout)."""
        cdef double t
        try:
            if scopes is None and not any_of:
                claims = self._verify(key, now)
            else:
                claims = self._verify(key, now, scopes=scopes, any_of=any_of)
        except _ApikeeError as error:
            self._rejected(error, key)
            raise
        self._valid += 1
        if self._tenants is not None:
            self._tenant_add(claims.tenant, "VALID", 1)
        # Keyed by the key string, whose hash the policy look-up above just cached (the id
        # is a new string per verification: hashing it would cost more than the rest).
        raw = claims.raw_key
        if now is not None:
            t = now
        elif apikee_wall_clock(&t) != 0:
            t = _time.time()
        found = PyDict_GetItem(self._seen, raw)
        if found is NULL:
            self._seen[raw] = SeenKey(claims, t)
        else:
            (<SeenKey>found).uses += 1
            (<SeenKey>found).last = t
        return claims

    def entry(self, claims):
        """The resolved policy of verified ``claims`` (None when none applies)."""
        found = self._entries.get(claims.raw_key, _MISS)
        if found is _MISS:
            return self._resolve(claims)
        return found

    def limit(self, claims, *, cost=1, now=None):
        """Count one request of ``cost`` against the key's limits: its ``Decision``, or None
        when no limit applies."""
        found = self._entries.get(claims.raw_key, _MISS)
        if found is _MISS:
            found = self._resolve(claims)
        if found is None:
            return None
        plan = found.plan
        if plan is None:
            return None
        if self._local is not None and type(cost) is int and 0 <= cost <= 1_000_000_000:
            return self._local._check(found.bucket, <Plan>plan, <int64_t>cost, _now(now))
        return self._limiter.check(found.bucket, plan, cost, now)
