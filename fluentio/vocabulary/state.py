"""The state behind the lesson page's unclear-words card."""

from __future__ import annotations

import uuid

import reflex as rx

from fluentio.auth.state import signed_in_user
from fluentio.db import session_scope
from fluentio.vocabulary.unclear import UnclearView, session_unclear_words


class UnclearWordsState(rx.State):
    words: list[UnclearView] = []

    @rx.event
    def load(self) -> None:
        self.words = []
        user = signed_in_user(self)
        try:
            practice_id = uuid.UUID(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return
        if user is None:
            return
        with session_scope() as session:
            self.words = session_unclear_words(
                session=session, user_id=user.id, practice_session_id=practice_id
            )
