"""A learner's page keeps its state when the web worker holding its socket dies.

With several web workers, Reflex keeps a record in Redis of which worker (its "instance")
holds each page's socket, and treats a page connecting with a token that already has a
record as a *duplicated tab*: it hands the page a new token, so the page starts from empty
state. A worker killed with `kill -9` never deletes its records, so every learner on it
reconnected (to a live worker, within a second) as a "duplicate" and lost their page
state: a live lesson showed "Ready" while the call went on (tests/e2e/test_cluster.py).

Here each web worker beats in Redis (a counter bumped every BEAT_SECONDS, expiring after
BEAT_TTL_SECONDS). When a page connects with a token recorded for another worker, that
worker's beat is read twice, DEAD_AFTER_SECONDS apart: if it is gone or did not move, the
worker is dead, its record is deleted (only if unchanged meanwhile) and the page keeps
its token and its state. A live worker's beat moves, so a really duplicated tab still
gets a new token, as Reflex intends (after that short wait).

`install()` swaps Reflex's `RedisTokenManager` for this subclass; fluentio/web_process.py
calls it before Reflex creates the app (the workers are forked after).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
from typing import Any

logger = logging.getLogger(__name__)

BEAT_SECONDS = 0.5
BEAT_TTL_SECONDS = 5
DEAD_AFTER_SECONDS = 1.25
BEAT_PREFIX = "fluentio_web_beat_"
# Delete the record only if it is still the one we judged: another worker may have just
# taken the token over.
_DELETE_IF_SAME = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


def install() -> None:
    from reflex.utils import token_manager

    if getattr(token_manager.RedisTokenManager, "_fluentio_liveness", False):
        return
    base: Any = token_manager.RedisTokenManager

    class LivenessTokenManager(base):  # type: ignore[misc,valid-type]
        _fluentio_liveness = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._fluentio_beat: asyncio.Task[None] | None = None

        def _beat_key(self, instance_id: str) -> str:
            return BEAT_PREFIX + instance_id

        async def _beat_forever(self) -> None:
            while True:
                try:
                    key = self._beat_key(self.instance_id)
                    await self.redis.incr(key)
                    await self.redis.expire(key, BEAT_TTL_SECONDS)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.warning("web worker heartbeat in Redis failed: %s", type(exc).__name__)
                await asyncio.sleep(BEAT_SECONDS)

        def _ensure_beat(self) -> None:
            if self._fluentio_beat is None or self._fluentio_beat.done():
                self._fluentio_beat = asyncio.get_running_loop().create_task(
                    self._beat_forever(), name="fluentio-web-beat"
                )

        async def _alive(self, instance_id: str) -> bool:
            key = self._beat_key(instance_id)
            first = await self.redis.get(key)
            if first is None:
                return False
            await asyncio.sleep(DEAD_AFTER_SECONDS)
            second = await self.redis.get(key)
            return second is not None and second != first

        async def _forget_dead_owner(self, token: str) -> None:
            key = self._get_redis_key(token)
            raw = await self.redis.get(key)
            if raw is None:
                return
            record = pickle.loads(raw)
            if record.instance_id == self.instance_id or await self._alive(record.instance_id):
                return
            if await self.redis.eval(_DELETE_IF_SAME, 1, key, raw):
                logger.info("a page's socket moved from a dead web worker; its state is kept")

        async def link_token_to_sid(self, token: str, sid: str) -> str | None:
            self._ensure_beat()
            local = self.token_to_socket.get(token)
            if local is None or local.sid != sid:
                with contextlib.suppress(Exception):
                    await self._forget_dead_owner(token)
            result: str | None = await super().link_token_to_sid(token, sid)
            return result

        async def close(self) -> None:
            if self._fluentio_beat is not None:
                self._fluentio_beat.cancel()
            await super().close()

    token_manager.RedisTokenManager = LivenessTokenManager  # type: ignore[misc]
