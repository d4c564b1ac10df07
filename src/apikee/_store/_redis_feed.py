"""The Redis change feed: a pub/sub subscription with its own heartbeat.

Opening the feed subscribes and waits for the server's confirmation *before* the refresher
loads the store, so no change can fall between the load and the first message: a message whose
version the load already covers is skipped by the refresher, a gap makes it reload.

Every ``heartbeat_interval`` seconds without traffic the feed publishes a token on a channel
of its own (subscribed with the change channel) and waits for it to come back over the
subscription. Redis delivers in order, so the token's return proves the subscription is alive
*and* that every change published before it has arrived (the snapshot is current); a token not
back within ``server_timeout`` is a failure (say a half-open connection that would otherwise
go unnoticed). (A PING over the subscription would do the first half, but redis-py mangles its
reply when ``decode_responses`` is on.)
A dropped connection raises at once: redis-py's auto-reconnect is off, the refresher reopens
the feed (subscribe, then a full load) with backoff.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from ._base import Feed
from ._errors import NeedResync, StoreUnavailable
from ._record import Change, Revocation, StoreVersion, split_field

if TYPE_CHECKING:
    from ._redis import RedisStore

__all__ = ["RedisFeed", "parse_message"]

log = logging.getLogger("apikee.revocation")


def parse_message(data: str) -> Change:
    """A channel message back into a :class:`Change` (``ValueError`` when malformed)."""
    op, epoch, counter, body = data.split("|", 3)
    version = StoreVersion(epoch, int(counter))
    if op == "A":
        record = Revocation.from_json(body)
        return Change(version, record.kind, record.value, record)
    if op == "D":
        kind, value = split_field(body)
        return Change(version, kind, value, None)
    raise ValueError(f"unknown change operation {op!r}")


class RedisFeed(Feed):
    """One subscription to the store's change channel, read by one refresher thread."""

    def __init__(self, store: RedisStore, stop: threading.Event) -> None:
        self._store = store
        self._stop = stop
        self._pubsub: Any = store.client.pubsub()
        self._beat_channel = f"{store.channel}:heartbeat:{secrets.token_hex(8)}"
        self._beat_token = ""
        self._beat_sent: float | None = None
        try:
            store.call(
                "subscribe", lambda: self._pubsub.subscribe(store.channel, self._beat_channel)
            )
            self._await_subscription()
        except BaseException:
            self.close()
            raise

    def _await_subscription(self) -> None:
        deadline = time.monotonic() + self._store.server_timeout
        waiting = {self._store.channel, self._beat_channel}
        while time.monotonic() < deadline:
            message = self._read(deadline - time.monotonic())
            if message is not None and message.get("type") == "subscribe":
                waiting.discard(str(message.get("channel")))
                if not waiting:
                    self.confirmed_at = time.monotonic()
                    return
        raise StoreUnavailable(
            f"revocation store {self._store.url} unavailable: "
            "subscribe: no confirmation from the server"
        )

    def _read(self, timeout: float) -> dict[str, Any] | None:
        reply: dict[str, Any] | None = self._store.call(
            "subscription", lambda: self._pubsub.get_message(timeout=max(0.0, timeout))
        )
        return reply

    def _heartbeat(self, now: float) -> None:
        if self._beat_sent is not None:
            if now - self._beat_sent > self._store.server_timeout:
                raise StoreUnavailable(
                    f"revocation store {self._store.url} unavailable: "
                    "subscription: the heartbeat did not come back"
                )
        elif now - self.confirmed_at >= self._store.heartbeat_interval:
            token = secrets.token_hex(8)
            client = self._store.client
            self._store.call("heartbeat", lambda: client.publish(self._beat_channel, token))
            self._beat_token, self._beat_sent = token, now

    def next_changes(self, since: StoreVersion, timeout: float) -> list[Change]:
        deadline = time.monotonic() + timeout
        changes: list[Change] = []
        while not self._stop.is_set():
            now = time.monotonic()
            self._heartbeat(now)
            wait = 0.0 if changes else deadline - now
            if wait < 0 or (changes and now > deadline):
                break
            message = self._read(wait)
            if message is None:
                if changes:
                    break  # drained: what came together is applied together
                continue
            if message.get("type") != "message":
                continue
            if message.get("channel") == self._beat_channel:
                if message.get("data") == self._beat_token:
                    self._beat_sent = None
                    self.confirmed_at = time.monotonic()
            else:
                self.confirmed_at = time.monotonic()
                try:
                    changes.append(parse_message(str(message.get("data", ""))))
                except ValueError:
                    log.warning(
                        "revocation store %s: malformed change message; reloading", self._store.url
                    )
                    raise NeedResync("malformed change message") from None
        return changes

    def close(self) -> None:
        try:
            self._pubsub.close()
        except Exception:  # closing a broken connection must not raise
            pass
