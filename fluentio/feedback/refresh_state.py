"""A state mixin for pages that show feedback still being prepared: `watch` refreshes
the page every few seconds until no analysis on it is pending or running."""

from __future__ import annotations

import asyncio
import uuid

import reflex as rx

from fluentio.auth.state import signed_in_user

WATCH_SECONDS = 2.0
WATCH_ROUNDS = 150  # five minutes


class RefreshWhileAnalysing(rx.State, mixin=True):
    """Mix into a page state; implement `_refresh` and `_analysing`."""

    _watching: bool = False

    def _refresh(self, user_id: uuid.UUID) -> None:
        raise NotImplementedError

    def _analysing(self) -> bool:
        raise NotImplementedError

    @rx.event(background=True)
    async def watch(self) -> None:
        """Refresh while any feedback on this page is still being prepared."""
        async with self:
            if self._watching:
                return
            self._watching = True
        try:
            for _ in range(WATCH_ROUNDS):
                await asyncio.sleep(WATCH_SECONDS)
                async with self:
                    user = signed_in_user(self)
                    if user is None:
                        return
                    self._refresh(user.id)
                    if not self._analysing():
                        return
        finally:
            async with self:
                self._watching = False
