"""The states behind the placement offer (classroom) and the placement's result (the
lesson page). Every handler resolves the learner from the server session; the lesson id
comes from the page's own address and is only used together with that learner."""

from __future__ import annotations

import uuid

import reflex as rx

from fluentio.auth.state import signed_in_user
from fluentio.db import off_loop, session_scope
from fluentio.placement import service
from fluentio.placement.service import Choice, EvidenceView, PlacementError


def _offer_for(user_id: uuid.UUID, language: str) -> bool:
    with session_scope() as session:
        return service.should_offer(session=session, user_id=user_id, language=language)


class PlacementOfferState(rx.State):
    """ "Find your level in five minutes" / "Skip, I know my level", before the first lesson
    in the language practised."""

    offered: bool = False

    @rx.event
    async def load(self) -> None:
        user = signed_in_user(self)
        self.offered = user is not None and await off_loop(_offer_for, user.id, user.target_language)

    @rx.event
    def skip(self) -> None:
        user = signed_in_user(self)
        if user is None:
            self.offered = False
            return
        with session_scope() as session:
            service.skip_offer(session=session, user_id=user.id, language=user.target_language)
        self.offered = False


class PlacementResultState(rx.State):
    """A placement call's level and evidence on its lesson page, with "Use B1" / "Keep my level"."""

    found: bool = False
    level: str = ""
    level_name: str = ""
    evidence: list[EvidenceView] = []
    summary: str = ""
    decision: str = ""
    current_level: str = ""
    level_before: str = ""
    message: str = ""

    def _lesson_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return None

    def _show(self, view: service.PlacementView | None) -> None:
        self.found = view is not None
        if view is None:
            self.level = self.level_name = self.summary = self.decision = ""
            self.current_level = self.level_before = ""
            self.evidence = []
            return
        self.level, self.level_name, self.summary = view.level, view.level_name, view.summary
        self.evidence = view.evidence
        self.decision, self.current_level, self.level_before = (
            view.decision,
            view.current_level,
            view.level_before,
        )

    @rx.event
    def load(self) -> None:
        self.message = ""
        user, lesson = signed_in_user(self), self._lesson_id()
        if user is None or lesson is None:
            self._show(None)
            return
        with session_scope() as session:
            self._show(
                service.placement_for_session(session=session, user_id=user.id, practice_session_id=lesson)
            )

    def _decide(self, choice: Choice) -> None:
        user, lesson = signed_in_user(self), self._lesson_id()
        if user is None or lesson is None:
            self.message = "Log in again to answer this placement."
            return
        try:
            with session_scope() as session:
                view = service.decide(
                    session=session, user_id=user.id, practice_session_id=lesson, choice=choice
                )
        except PlacementError as refused:
            self.message = refused.message
            return
        self._show(view)
        self.message = (
            f"Done: your level is now {view.current_level}. Your next lessons are pitched at it."
            if choice is Choice.ACCEPT
            else f"Done: you kept your level, {view.current_level}."
        )

    @rx.event
    def accept(self) -> None:
        self._decide(Choice.ACCEPT)

    @rx.event
    def keep(self) -> None:
        self._decide(Choice.KEEP)
