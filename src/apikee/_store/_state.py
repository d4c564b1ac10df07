"""The data of a snapshot: the store's contents (the *base*) plus this process's own writes.

``SnapshotState`` is pure bookkeeping, no I/O and no locking (its owner, the snapshot, holds
the lock). The base is the store at ``version``, replaced by a full load or advanced by
consecutive changes; the *overlay* holds this process's successful writes the base does not
cover yet, so they are enforced at once. An overlay entry is dropped as soon as the base covers
it: a later version of the same epoch, or any full load that started after the write (a load
that began after the write completed necessarily contains it, or a later change of it).

``ids`` and ``tenants`` are the published pair: replaced on every change, never mutated.
"""

from __future__ import annotations

from ._record import Change, StoreVersion

__all__ = ["SnapshotState"]


def _apply_tenant(tenants: dict[str, float], change: Change) -> None:
    if change.record is None or change.record.issued_before is None:
        tenants.pop(change.value, None)
    else:
        tenants[change.value] = change.record.issued_before


class SnapshotState:
    """Base + overlay, and the published ``(ids, tenants)`` pair computed from them."""

    def __init__(self) -> None:
        self.version: StoreVersion | None = None
        self.ids: frozenset[str] = frozenset()
        self.tenants: dict[str, float] = {}
        self._base_ids: frozenset[str] = frozenset()
        self._base_tenants: dict[str, float] = {}
        self._overlay: dict[tuple[str, str], tuple[Change, float]] = {}

    def full(
        self, version: StoreVersion, ids: set[str], tenants: dict[str, float], started: float
    ) -> bool | None:
        """Replace the base by a full load begun at ``started`` (monotonic). ``None`` if the
        load is older than the base (ignored); else whether the published pair changed."""
        base = self.version
        if base is not None and base.epoch == version.epoch and base.counter > version.counter:
            return None
        self._base_ids, self._base_tenants, self.version = frozenset(ids), dict(tenants), version
        self._overlay = {k: v for k, v in self._overlay.items() if v[1] >= started}
        return self._publish()

    def changes(self, changes: list[Change]) -> bool | None:
        """Apply consecutive changes to the base. ``None`` (nothing applied) on a gap or
        another epoch; else whether the published pair changed."""
        base = self.version
        if base is None:
            return None
        counter = base.counter
        adds: set[str] = set()
        removes: set[str] = set()
        tenants: dict[str, float] | None = None
        for change in changes:
            if change.version.epoch != base.epoch or change.version.counter > counter + 1:
                return None
            if change.version.counter <= counter:
                continue  # already in the base (a load covered it)
            counter += 1
            if change.kind == "tenant":
                tenants = dict(self._base_tenants) if tenants is None else tenants
                _apply_tenant(tenants, change)
            elif change.record is None:
                removes.add(change.value)
                adds.discard(change.value)
            else:
                adds.add(change.value)
                removes.discard(change.value)
        if counter == base.counter:
            return False
        ids = self._base_ids
        if removes & ids:
            ids = ids - removes
        if adds - ids:
            ids = ids | adds
        self._base_ids = ids  # one copy of the set per batch at most (two if both kinds)
        if tenants is not None:
            self._base_tenants = tenants
        self.version = StoreVersion(base.epoch, counter)
        return self._publish()

    def local(self, change: Change, at: float) -> bool:
        """Enforce this process's own write (made at ``at``, monotonic) at once."""
        base = self.version
        if (
            base is not None
            and base.epoch == change.version.epoch
            and base.counter >= change.version.counter
        ):
            return False
        self._overlay[(change.kind, change.value)] = (change, at)
        return self._publish()

    def _publish(self) -> bool:
        """Recompute the published pair (new objects) from base + overlay; True if changed."""
        base = self.version
        if base is not None and self._overlay:
            self._overlay = {
                k: v
                for k, v in self._overlay.items()
                if v[0].version.epoch != base.epoch or v[0].version.counter > base.counter
            }
        ids, tenants = self._base_ids, self._base_tenants
        if self._overlay:
            id_set, tenants = set(ids), dict(tenants)
            for change, _at in sorted(self._overlay.values(), key=lambda v: v[1]):
                if change.kind == "tenant":
                    _apply_tenant(tenants, change)
                elif change.record is None:
                    id_set.discard(change.value)
                else:
                    id_set.add(change.value)
            ids = frozenset(id_set)
        if ids is self.ids and tenants is self.tenants:
            return False
        self.ids, self.tenants = ids, tenants
        return True
