"""Analysis jobs: one durable row per practice session (pending → running → done/failed)."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from fluentio.models import Feedback, FeedbackStatus
from fluentio.settings import get_settings


def enqueue_analysis(*, session: Session, practice_session_id: uuid.UUID) -> Feedback:
    """Queue the analysis of a finished session; calling it again returns the same job.

    The caller commits. The worker picks the job up (and picks up any left pending by a
    restart), so ending a call never waits for the model.
    """
    existing = session.exec(select(Feedback).where(Feedback.session_id == practice_session_id)).first()
    if existing is not None:
        return existing
    job = Feedback(
        session_id=practice_session_id,
        status=FeedbackStatus.PENDING.value,
        model=get_settings().analysis_model,
    )
    session.add(job)
    session.flush()
    return job
